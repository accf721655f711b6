// The household supervision chart: daily kilograms per class over the month (Apache ECharts from our
// static files). Every number comes from the page's JSON (exact decimal strings from the server);
// the tables on the page carry the figures without JavaScript.
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var source = document.getElementById("household-data");
  var el = document.querySelector('[data-chart="household-daily"]');
  if (!source || !el) { return; }
  var data = JSON.parse(source.textContent);
  var labels = data.labels || {};
  var fmt = window.zwNumbers || { number: String };
  var palette = { kitchen: "#1f7a4d", recyclable: "#3b6ea5", hazardous: "#b3261e", other: "#7b8f86" };
  var days = data.days.map(function (d) { return d.slice(5); });
  var series = data.classes.map(function (code) {
    return {
      name: labels[code] || code,
      type: "bar",
      stack: "kg",
      itemStyle: palette[code] ? { color: palette[code] } : undefined,
      data: data.series[code].map(Number)
    };
  });
  var chart = echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis", valueFormatter: function (v) { return fmt.number(v) + " " + (labels.kg || ""); } },
    legend: { top: 0, type: "scroll" },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: days },
    yAxis: { type: "value", name: labels.kg || "" },
    series: series
  });
  el.dataset.rendered = "1";
  window.addEventListener("resize", function () { chart.resize(); });
})();
