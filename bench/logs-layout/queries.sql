.timer on
.print q1 newest page, no filter
SELECT count(*) FROM (SELECT * FROM request_logs ORDER BY timestamp DESC, record_key DESC LIMIT 101);
.print q2 service newest page
SELECT count(*) FROM (SELECT * FROM request_logs WHERE service = 'svc-05' ORDER BY timestamp DESC, record_key DESC LIMIT 101);
.print q3 endpoint newest page
SELECT count(*) FROM (SELECT * FROM request_logs WHERE service = 'svc-05' AND route = '/v1/res3/:id' AND method = 'GET' ORDER BY timestamp DESC, record_key DESC LIMIT 101);
.print q4 status=503 newest page, all services
SELECT count(*) FROM (SELECT * FROM request_logs WHERE status = 503 ORDER BY timestamp DESC, record_key DESC LIMIT 101);
.print q5 5xx newest page, all services
SELECT count(*) FROM (SELECT * FROM request_logs WHERE status_class = 5 ORDER BY timestamp DESC, record_key DESC LIMIT 101);
.print q6 service + 5xx newest page
SELECT count(*) FROM (SELECT * FROM request_logs WHERE service = 'svc-05' AND status_class = 5 ORDER BY timestamp DESC, record_key DESC LIMIT 101);
.print q7 endpoint + status 503 (rare) newest page
SELECT count(*) FROM (SELECT * FROM request_logs WHERE service = 'svc-05' AND route = '/v1/res3/:id' AND method = 'GET' AND status = 503 ORDER BY timestamp DESC, record_key DESC LIMIT 101);
.print q8 one hour, grouped by endpoint (summaries)
SELECT count(*) FROM (SELECT service, method, route, count(*) FROM request_logs WHERE timestamp >= 1790000000000 + 3600000 AND timestamp < 1790000000000 + 7200000 GROUP BY 1,2,3);
.print q9 endpoint replay ascending (re-evaluation)
SELECT count(*) FROM (SELECT * FROM request_logs WHERE service = 'svc-05' AND route = '/v1/res3/:id' AND method = 'GET' AND timestamp >= 1790000000000 ORDER BY timestamp, record_key LIMIT 1000);
.print q10 q=timeout text search newest page
SELECT count(*) FROM (SELECT * FROM request_logs WHERE error LIKE '%timed%' ORDER BY timestamp DESC, record_key DESC LIMIT 101);
.print q11 service with no rows newest page (the worst case without a service index: a full scan)
SELECT count(*) FROM (SELECT * FROM request_logs WHERE service = 'svc-none' ORDER BY timestamp DESC, record_key DESC LIMIT 101);
.print q12 service with no rows, last hour only
SELECT count(*) FROM (SELECT * FROM request_logs WHERE service = 'svc-none' AND timestamp >= 1790000000000 + 82800000 ORDER BY timestamp DESC, record_key DESC LIMIT 101);
