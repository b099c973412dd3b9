-- 100k rows: 24 services, 300 endpoints, 1% 5xx, 3% 4xx, spread over 24 hours.
INSERT INTO request_logs (record_key, timestamp, received_at, service, method, route, path, status, latency_ms, error, user_agent, consumer)
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 99999)
SELECT 'c:svc-' || printf('%02d', (i*7 % 300) % 24) || ':GET:/v1/res' || ((i*7 % 300)/24) || '/:id#cap-' || i,
  1790000000000 + i * 864, 1790000000000 + i * 864 + 5,
  'svc-' || printf('%02d', (i*7 % 300) % 24), 'GET', '/v1/res' || ((i*7 % 300)/24) || '/:id', '/v1/res/' || i,
  CASE WHEN i % 100 = 0 THEN 503 WHEN i % 100 < 4 THEN 404 ELSE 200 END, 20 + (i * 7919) % 400,
  CASE WHEN i % 100 = 0 THEN 'upstream timed out' END, 'Mozilla/5.0', 'customer-' || (i % 500)
FROM c;
ANALYZE;
