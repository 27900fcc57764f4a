// routecast's interactive charts: each <div class="chart"> is followed by a
// <script type="application/json"> holding its data; uPlot (inlined above)
// draws it. Hover shows every series' value at that time in the legend;
// clicking a legend entry hides or shows the series; dragging across the
// plot zooms on that time range; "Reset zoom" (or a double click) shows it
// all again. Times are UTC. Nothing is loaded from anywhere.
(function () {
  "use strict";
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  // "2026-11-24 21:05 UTC": the legend's time, in UTC whatever the browser's zone.
  function utc(t) {
    var d = new Date(t * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
  }
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // Tick labels in UTC, 24-hour: "Nov 24" at midnight (or when ticks are
  // days apart), else "21:00".
  function ticks(u, splits, axis, space, incr) {
    return splits.map(function (t) {
      var d = new Date(t * 1000);
      if (incr >= 86400 || (d.getUTCHours() === 0 && d.getUTCMinutes() === 0)) {
        return MONTHS[d.getUTCMonth()] + " " + d.getUTCDate();
      }
      return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    });
  }
  function value(unit) {
    return function (u, v) { return v == null ? "–" : v.toFixed(3) + " " + unit; };
  }
  // Labels of level lines (capacity, p95) drawn on the plot at their height.
  function drawLevels(spec) {
    return function (u) {
      var ctx = u.ctx;
      ctx.save();
      ctx.font = Math.round(13 * devicePixelRatio) + "px sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "bottom";
      spec.series.forEach(function (s, k) {
        var i = k + 1;
        if (!s.level || !u.series[i].show) return;
        ctx.fillStyle = s.color;
        var y = u.valToPos(s.values[0], "y", true);
        ctx.fillText(s.name, u.bbox.left + 6 * devicePixelRatio, y - 4 * devicePixelRatio);
      });
      ctx.restore();
    };
  }
  function build(el, spec) {
    var width = Math.max(320, el.clientWidth || 900);
    var series = [{ label: "time (UTC)", value: function (u, t) { return t == null ? "–" : utc(t); } }];
    spec.series.forEach(function (s) {
      series.push({ label: s.name, stroke: s.color, width: s.width, dash: s.dash || undefined,
        fill: s.fill || undefined, value: value(spec.unit), points: { show: false } });
    });
    var opts = {
      title: spec.title, width: width, height: 340,
      tzDate: function (t) { return uPlot.tzDate(new Date(t * 1000), "Etc/UTC"); },
      legend: { live: true },
      cursor: { drag: { x: true, y: false, setScale: true } },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(max * 1.1, 1e-6)]; } } },
      axes: [
        { label: spec.time_title, labelSize: 24, values: ticks, font: "13px sans-serif", labelFont: "bold 14px sans-serif" },
        { label: spec.unit, size: 70, font: "13px sans-serif", labelFont: "bold 14px sans-serif" }
      ],
      series: series,
      hooks: { draw: [drawLevels(spec)] }
    };
    var data = [spec.times].concat(spec.series.map(function (s) { return s.values; }));
    var plot = new uPlot(opts, data, el);
    var reset = document.createElement("button");
    reset.textContent = "Reset zoom";
    reset.className = "reset";
    reset.addEventListener("click", function () {
      plot.setScale("x", { min: spec.times[0], max: spec.times[spec.times.length - 1] });
    });
    el.insertBefore(reset, el.firstChild);
    return plot;
  }
  window.routecastCharts = [];
  document.querySelectorAll("div.chart").forEach(function (el) {
    var data = document.getElementById(el.dataset.spec);
    if (!data) return;
    var plot = build(el, JSON.parse(data.textContent));
    plot.root.dataset.chart = el.dataset.spec;
    window.routecastCharts.push(plot);
  });
})();
