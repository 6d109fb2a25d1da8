// The report's behaviour: draw the plots, sort and filter the trial table. No network access.
(function () {
  "use strict";

  function sortable(table) {
    const body = table.tBodies[0];
    Array.from(table.tHead.rows[0].cells).forEach(function (th, column) {
      th.addEventListener("click", function () {
        const ascending = !th.classList.contains("asc");
        Array.from(th.parentNode.cells).forEach(function (c) { c.classList.remove("asc", "desc"); });
        th.classList.add(ascending ? "asc" : "desc");
        const numeric = th.dataset.type === "number";
        const key = function (row) {
          const text = row.cells[column].textContent.trim();
          if (!numeric) return text;
          const value = parseFloat(text);
          return Number.isNaN(value) ? null : value;
        };
        const rows = Array.from(body.rows).map(function (row) { return [key(row), row]; });
        rows.sort(function (a, b) {
          if (a[0] === b[0]) return 0;
          if (a[0] === null || a[0] === "") return 1;  // empty cells last, either way
          if (b[0] === null || b[0] === "") return -1;
          const order = numeric ? a[0] - b[0] : String(a[0]).localeCompare(String(b[0]));
          return ascending ? order : -order;
        });
        rows.forEach(function (pair) { body.appendChild(pair[1]); });
      });
    });
  }

  function filtered(input, table) {
    input.addEventListener("input", function () {
      const needle = input.value.toLowerCase();
      Array.from(table.tBodies[0].rows).forEach(function (row) {
        row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
      });
    });
  }

  // Plotly.js is embedded gzip-compressed (see katib_flow/report/render.py) and inflated here.
  async function loadPlotly() {
    const encoded = document.getElementById("plotly-bundle").textContent.trim();
    const binary = atob(encoded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const script = document.createElement("script");
    script.text = await new Response(stream).text();
    document.head.appendChild(script);
  }

  async function draw() {
    const figures = JSON.parse(document.getElementById("figures").textContent);
    const ids = Object.keys(figures);
    const status = document.getElementById("plot-status");
    if (ids.length === 0) return;
    if (typeof DecompressionStream === "undefined") {
      status.textContent = "This browser cannot inflate the embedded Plotly.js (it lacks DecompressionStream): " +
        "open the report in Chrome 80+, Firefox 113+ or Safari 16.4+ to see the plots.";
      return;
    }
    await loadPlotly();
    for (const id of ids) {
      const element = document.getElementById("plot-" + id);
      await window.Plotly.newPlot(element, figures[id].data, figures[id].layout, { responsive: true, displaylogo: false });
      element.dataset.drawn = "true";
    }
    status.textContent = "";
    document.body.dataset.plots = "drawn";
  }

  sortable(document.getElementById("trial-table"));
  filtered(document.getElementById("filter"), document.getElementById("trial-table"));
  draw().catch(function (error) {
    document.getElementById("plot-status").textContent = "The plots could not be drawn: " + error;
    throw error;
  });
})();
