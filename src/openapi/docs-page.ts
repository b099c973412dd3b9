/**
 * The interactive docs at `/docs`: one self-contained HTML page (inline style and vanilla JS, no
 * CDN: the machine may be offline and so may the reader's browser) that loads /openapi.json and
 * renders every operation by tag with its parameters, body and response schemas, and a "try it"
 * form per operation. The key stays in sessionStorage and goes only to this origin (the page's
 * CSP allows no other connection). The script builds the DOM with textContent, never innerHTML,
 * so nothing in the document can inject markup. Pure.
 */

export const DOCS_STYLE = `
:root{font-family:system-ui,sans-serif;color:#1d2430;background:#f6f7f9}
body{margin:0 auto;max-width:1100px;padding:1rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin-bottom:1rem}
h1{font-size:1.4rem;margin:0 1rem 0 0}h2{font-size:1.1rem;margin:1.5rem 0 .5rem;border-bottom:1px solid #ccd}
label{font-size:.9rem}input,textarea,select,button{font:inherit;font-size:.9rem}
input,textarea{border:1px solid #aab;border-radius:4px;padding:.25rem .4rem;max-width:100%}
textarea{width:100%;min-height:6rem;font-family:ui-monospace,monospace}
button{border:1px solid #357;background:#357;color:#fff;border-radius:4px;padding:.3rem .8rem;cursor:pointer}
details{background:#fff;border:1px solid #dde;border-radius:6px;margin:.4rem 0}
summary{cursor:pointer;padding:.5rem;display:flex;gap:.6rem;align-items:baseline;flex-wrap:wrap}
.m{font:700 .8rem ui-monospace,monospace;padding:.1rem .4rem;border-radius:3px;color:#fff;background:#567;min-width:3.5rem;text-align:center}
.get{background:#2a7}.post{background:#27c}.put{background:#c72}.delete{background:#c33}.patch{background:#a5c}
.p{font-family:ui-monospace,monospace;word-break:break-all}.s{color:#556}.k{font-size:.75rem;border:1px solid #99a;border-radius:3px;padding:0 .3rem}
.body{padding:0 .8rem .8rem}table{border-collapse:collapse;width:100%;font-size:.85rem}
td,th{border-bottom:1px solid #eef;padding:.25rem;text-align:left;vertical-align:top}
pre{background:#f0f2f5;padding:.5rem;overflow:auto;max-height:24rem;font-size:.8rem}
.row{display:flex;flex-wrap:wrap;gap:.5rem;margin:.3rem 0}.row label{display:flex;flex-direction:column}
.err{color:#b00}
`;

export const DOCS_SCRIPT = `
(function () {
  "use strict";
  var KEY = "edge-monitor-docs-key";
  var doc = null;
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function resolve(s, depth) {
    if (!s || typeof s !== "object" || depth > 6) return s;
    if (Array.isArray(s)) return s.map(function (x) { return resolve(x, depth + 1); });
    if (typeof s.$ref === "string" && s.$ref.indexOf("#/components/") === 0) {
      var t = s.$ref.slice(2).split("/").reduce(function (o, p) { return o && o[p]; }, doc);
      return resolve(t, depth + 1);
    }
    var out = {};
    Object.keys(s).forEach(function (k) { out[k] = resolve(s[k], depth + 1); });
    return out;
  }
  function json(v) { return JSON.stringify(v, null, 2); }
  function typeOf(s) {
    if (!s) return "";
    var t = s.type || (s.enum ? "enum" : s.anyOf ? s.anyOf.map(typeOf).join(" | ") : "");
    var extra = [];
    ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "default"].forEach(function (k) {
      if (s[k] !== undefined) extra.push(k + " " + s[k]);
    });
    if (s.enum) extra.push(s.enum.join(", "));
    return t + (extra.length ? " (" + extra.join("; ") + ")" : "");
  }
  function example(s, depth) {
    s = resolve(s, 0);
    if (!s || depth > 4) return null;
    if (s.default !== undefined) return s.default;
    if (s.anyOf) return example(s.anyOf[0], depth + 1);
    if (s.enum) return s.enum[0];
    if (s.type === "object") {
      var o = {};
      (s.required || []).forEach(function (k) { o[k] = example((s.properties || {})[k], depth + 1); });
      return o;
    }
    if (s.type === "array") return [];
    if (s.type === "integer" || s.type === "number") return s.minimum !== undefined ? s.minimum : 0;
    if (s.type === "boolean") return false;
    if (s.type === "string") return "";
    return null;
  }
  function tryForm(path, method, op) {
    var params = op.parameters || [];
    var inputs = {};
    var row = el("div", { class: "row" });
    params.forEach(function (p) {
      var i = el("input", { name: p.name, placeholder: typeOf(p.schema) });
      if (p.in === "path" && p.name === "route") i.value = "/";
      inputs[p.in + ":" + p.name] = i;
      row.appendChild(el("label", {}, [document.createTextNode(p.name + (p.required ? " *" : "") + " (" + p.in + ")"), i]));
    });
    var body = null;
    var content = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    if (content) {
      body = el("textarea", { "aria-label": "request body (JSON)" });
      body.value = json(example(content.schema, 0));
    }
    var out = el("pre", { "aria-live": "polite", text: "" });
    var send = el("button", { type: "button", text: "Send" });
    send.addEventListener("click", function () {
      var url = path.replace(/\\{([^}]+)\\}/g, function (_, name) {
        var v = inputs["path:" + name].value;
        return name === "path" ? v.split("/").map(encodeURIComponent).join("/") : encodeURIComponent(v);
      });
      var q = new URLSearchParams();
      params.forEach(function (p) { var v = inputs[p.in + ":" + p.name].value; if (p.in === "query" && v !== "") q.set(p.name, v); });
      if (q.toString()) url += "?" + q.toString();
      var headers = {};
      var key = sessionStorage.getItem(KEY);
      if (key && op["x-key-scope"] !== "none") headers.Authorization = "Bearer " + key;
      var init = { method: method.toUpperCase(), headers: headers };
      if (body && ["get", "head"].indexOf(method) < 0) { headers["Content-Type"] = "application/json"; init.body = body.value; }
      out.textContent = "…";
      var started = performance.now();
      fetch(url, init).then(function (res) {
        return res.text().then(function (text) {
          var shown = text;
          try { shown = json(JSON.parse(text)); } catch (e) { /* not JSON: shown as text */ }
          out.textContent = method.toUpperCase() + " " + url + "\\n" + res.status + " " + res.statusText + " (" + Math.round(performance.now() - started) + " ms)\\n\\n" + shown.slice(0, 200000);
        });
      }).catch(function (e) { out.textContent = "network error: " + e.message; });
    });
    return el("div", {}, [el("h4", { text: "Try it" }), row, body, send, out]);
  }
  function operation(path, method, op) {
    var scope = op["x-key-scope"];
    var sum = el("summary", {}, [el("span", { class: "m " + method, text: method.toUpperCase() }), el("span", { class: "p", text: path }), el("span", { class: "s", text: op.summary || "" }), el("span", { class: "k", text: scope === "none" ? "no key" : scope + " key" })]);
    var parts = [];
    if (op.description) parts.push(el("p", { text: op.description }));
    if (op.parameters && op.parameters.length) {
      var rows = op.parameters.map(function (p) {
        return el("tr", {}, [el("td", { class: "p", text: p.name + (p.required ? " *" : "") }), el("td", { text: p.in }), el("td", { text: typeOf(p.schema) }), el("td", { text: p.description || "" })]);
      });
      parts.push(el("h4", { text: "Parameters" }), el("table", {}, [el("tr", {}, ["name", "in", "schema", ""].map(function (h) { return el("th", { text: h }); }))].concat(rows)));
    }
    if (op.requestBody) {
      Object.keys(op.requestBody.content).forEach(function (type) {
        parts.push(el("h4", { text: "Body (" + type + ")" }), el("pre", { text: json(resolve(op.requestBody.content[type].schema, 0)) }));
      });
    }
    parts.push(el("h4", { text: "Responses" }));
    Object.keys(op.responses).forEach(function (status) {
      var r = resolve(op.responses[status], 0);
      parts.push(el("div", { text: status + ": " + (r.description || "") }));
      var c = r.content && (r.content["application/json"] || null);
      if (c && c.schema) parts.push(el("pre", { text: json(c.schema) }));
    });
    parts.push(tryForm(path, method, op));
    return el("details", { "data-search": (method + " " + path + " " + (op.summary || "")).toLowerCase() }, [sum, el("div", { class: "body" }, parts)]);
  }
  function render() {
    var main = document.getElementById("ops");
    main.textContent = "";
    var byTag = {};
    Object.keys(doc.paths).forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method];
        var tag = (op.tags && op.tags[0]) || "Other";
        (byTag[tag] = byTag[tag] || []).push(operation(path, method, op));
      });
    });
    var tags = (doc.tags || []).map(function (t) { return t.name; }).concat(Object.keys(byTag)).filter(function (t, i, a) { return a.indexOf(t) === i && byTag[t]; });
    tags.forEach(function (tag) { main.appendChild(el("section", {}, [el("h2", { text: tag })].concat(byTag[tag]))); });
    document.getElementById("version").textContent = doc.info.title + " " + doc.info.version + " · OpenAPI " + doc.openapi;
  }
  var keyInput = document.getElementById("key");
  keyInput.value = sessionStorage.getItem(KEY) || "";
  keyInput.addEventListener("change", function () { if (keyInput.value) sessionStorage.setItem(KEY, keyInput.value.trim()); else sessionStorage.removeItem(KEY); });
  document.getElementById("filter").addEventListener("input", function (e) {
    var f = e.target.value.toLowerCase();
    document.querySelectorAll("details[data-search]").forEach(function (d) { d.hidden = f !== "" && d.getAttribute("data-search").indexOf(f) < 0; });
  });
  fetch(new URL("/openapi.json", location.href)).then(function (res) {
    if (!res.ok) throw new Error("GET /openapi.json answered " + res.status);
    return res.json();
  }).then(function (d) { doc = d; render(); }).catch(function (e) {
    var main = document.getElementById("ops");
    main.textContent = "";
    main.appendChild(el("p", { class: "err", text: "Could not load the API description: " + e.message }));
  });
})();
`;

/** The page, with the script and style inline (their hashes go in the CSP). */
export function docsHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-monitor API docs</title>
<style>${DOCS_STYLE}</style>
</head>
<body>
<header>
<h1>edge-monitor API</h1>
<span id="version" class="s"></span>
<label>API key (kept in this tab only) <input id="key" type="password" autocomplete="off" placeholder="Bearer key"></label>
<label>Filter <input id="filter" type="search" placeholder="path or summary"></label>
</header>
<main id="ops"><p>Loading /openapi.json…</p></main>
<script>${DOCS_SCRIPT}</script>
</body>
</html>
`;
}
