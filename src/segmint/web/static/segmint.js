// Segmint dashboard: draw Plotly figures from data attributes, the builder's live checking, the Live stream.
"use strict";

function drawCharts(root) {
  if (typeof Plotly === "undefined") return;
  root.querySelectorAll("[data-figure]").forEach(function (el) {
    var fig = JSON.parse(el.getAttribute("data-figure"));
    var config = Object.assign({ displaylogo: false, responsive: true }, fig.config || {});
    Plotly.newPlot(el, fig.data, fig.layout, config);
  });
}

function escapeText(s) {
  var d = document.createElement("div");
  d.textContent = s;
  return d.innerHTML;
}

function builder() {
  var editor = document.getElementById("rule-editor");
  if (!editor) return;
  var status = document.getElementById("rule-status");
  var count = document.getElementById("rule-count");
  var sample = document.getElementById("rule-sample");
  var highlight = document.getElementById("rule-highlight");
  var timer = null, seq = 0;

  function mark(text, line, column) {
    // Underline the character at (line, column): the rest is plain escaped text.
    var lines = text.split("\n");
    var offset = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset += Math.max(0, column - 1);
    var before = text.slice(0, offset), at = text.slice(offset, offset + 1) || " ", after = text.slice(offset + 1);
    highlight.innerHTML = escapeText(before) + '<mark class="err" id="rule-error-mark">' + escapeText(at) + "</mark>" + escapeText(after);
  }

  function check() {
    var mine = ++seq;
    var text = editor.value;
    status.className = "status";
    status.textContent = "checking…";
    fetch("/ui/rule", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ rule: text }) })
      .then(function (r) { return r.json(); })
      .then(function (res) {
        if (mine !== seq) return;
        sample.textContent = "";
        if (!res.ok) {
          var e = res.error || {};
          status.className = "status error";
          status.textContent = "line " + e.line + ", column " + e.column + ": " + e.message;
          status.dataset.line = e.line;
          status.dataset.column = e.column;
          count.textContent = "–";
          mark(text, e.line || 1, e.column || 1);
          return;
        }
        highlight.textContent = text;
        status.className = "status ok";
        status.textContent = res.count === null ? res.note : "valid rule (traits as of " + res.as_of + ")";
        count.textContent = res.count === null ? "–" : res.count.toLocaleString("en");
        (res.sample || []).forEach(function (id) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = "/customers/" + encodeURIComponent(id);
          a.textContent = id;
          li.appendChild(a);
          sample.appendChild(li);
        });
      })
      .catch(function () { status.textContent = "could not reach the server"; });
  }
  editor.addEventListener("input", function () {
    highlight.textContent = editor.value;
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
  editor.addEventListener("scroll", function () { highlight.scrollTop = editor.scrollTop; });

  function save(newVersion) {
    var out = document.getElementById("save-status");
    var body = {
      name: document.getElementById("seg-name").value.trim(),
      family: document.getElementById("seg-family").value,
      description: document.getElementById("seg-description").value,
      rule: editor.value,
      new_version: newVersion,
    };
    out.className = "status";
    out.textContent = "saving and evaluating…";
    fetch("/ui/segments", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
      .then(function (pair) {
        var ok = pair[0], res = pair[1];
        if (!ok) { out.className = "status error"; out.textContent = res.message || "could not save"; return; }
        out.className = "status ok";
        out.textContent = "";
        out.appendChild(document.createTextNode("saved " + res.name + " v" + res.version + " with " + res.members + " members: "));
        var a = document.createElement("a");
        a.href = res.url; a.id = "saved-link"; a.textContent = "open";
        out.appendChild(a);
      });
  }
  document.getElementById("save-new").addEventListener("click", function () { save(false); });
  document.getElementById("save-version").addEventListener("click", function () { save(true); });
  highlight.textContent = editor.value;
  if (editor.value.trim()) check();
}

function live() {
  var body = document.getElementById("live-rows");
  if (!body || typeof EventSource === "undefined") return;
  var state = document.getElementById("live-state");
  var source = new EventSource("/ui/live/stream");
  source.onopen = function () { state.textContent = "connected"; };
  source.onerror = function () { state.textContent = "reconnecting…"; };
  function add(ev) {
    var c = JSON.parse(ev.data);
    var tr = document.createElement("tr");
    [c.seq, (c.at || "").replace("T", " ").slice(0, 16), c.segment, c.customer_id, c.kind, c.cause || ""].forEach(function (v, i) {
      var td = document.createElement("td");
      if (i === 3) { var a = document.createElement("a"); a.href = "/customers/" + encodeURIComponent(v); a.textContent = v; td.appendChild(a); }
      else td.textContent = v;
      if (i === 4) td.className = v;
      tr.appendChild(td);
    });
    body.insertBefore(tr, body.firstChild);
    while (body.children.length > 500) body.removeChild(body.lastChild);
  }
  source.addEventListener("entered", add);
  source.addEventListener("exited", add);
}

function explanations() {
  // Each membership explains itself when expanded: one small request per segment the customer is in.
  document.querySelectorAll("details.membership[data-explain]").forEach(function (box) {
    function load() {
      if (!box.open || box.dataset.loaded) return;
      box.dataset.loaded = "1";
      var out = box.querySelector(".explain-out");
      out.textContent = "explaining…";
      fetch(box.dataset.explain, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (res) {
          out.textContent = "";
          out.className = "explain-out";
          if (res.lines) {
            var pre = document.createElement("pre");
            pre.className = "explanation";
            pre.textContent = res.lines.join("\n");
            out.appendChild(pre);
          } else if (res.error) {
            out.className = "explain-out error";
            out.textContent = res.error;
          } else {
            out.className = "explain-out muted";
            out.textContent = res.note || res.message || "nothing to explain";
          }
        })
        .catch(function () { delete box.dataset.loaded; out.textContent = "could not reach the server"; });
    }
    box.addEventListener("toggle", load);
    load();
  });
}

document.addEventListener("DOMContentLoaded", function () {
  drawCharts(document);
  builder();
  live();
  explanations();
});
