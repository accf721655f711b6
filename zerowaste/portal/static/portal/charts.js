// Charts of the cockpit and the open-data page (Apache ECharts, served from our static files).
// Every number comes from the page's JSON (the server's figures); a click opens the list behind the
// element through htmx. The tables under each chart carry the same numbers without JavaScript.
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var source = document.getElementById("cockpit-data") || document.getElementById("public-data");
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  var labels = data.labels || {};
  var urls = document.getElementById("cockpit-urls");
  var charts = [];
  var palette = ["#1f7a4d", "#4f9d69", "#e0a030", "#7b8f86", "#3b6ea5", "#b3261e", "#8e6bb8", "#2aa198"];
  var phone = window.matchMedia("(max-width: 640px)").matches;

  function num(v) { return v === null || v === undefined || v === "" ? 0 : Number(v); }
  // numbers.js (loaded before this file) formats every figure a chart writes: 1,234.500 吨 / t.
  var fmt = window.zwNumbers || { number: String, quantity: function (v) { return String(v); }, count: String };
  function label(key) { return labels[key] || key; }

  function drill(chart, key) {
    if (!urls) { return; }
    var url = urls.dataset.drill + "?chart=" + encodeURIComponent(chart) + "&key=" + encodeURIComponent(key) +
      "&" + urls.dataset.query;
    var target = document.getElementById("drill");
    if (window.htmx) {
      window.htmx.ajax("GET", url, { target: "#drill", swap: "innerHTML" }).then(function () {
        target.scrollIntoView({ behavior: "smooth", block: "start" });
      });
    } else {
      window.location.href = url;
    }
  }

  function mount(name, option, onClick) {
    var el = document.querySelector('[data-chart="' + name + '"]');
    if (!el) { return null; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    option.color = option.color || palette;
    option.animation = false;  // the screenshots and the phone get the final picture at once
    chart.setOption(option);
    if (onClick) { chart.on("click", onClick); }
    el.dataset.rendered = "1";
    charts.push(chart);
    return chart;
  }

  // The axis tooltip names a category code with its catalog name.
  function axisTooltip(items) {
    var head = items.length ? (labels["category:" + items[0].axisValue] || items[0].axisValue) : "";
    return [head].concat(items.map(function (p) { return p.marker + p.seriesName + ": " + fmt.number(p.value); })).join("<br>");
  }

  function bars(name, categories, series, onClick, horizontal) {
    var axisCat = { type: "category", data: categories, axisLabel: { interval: 0, rotate: horizontal ? 0 : (categories.length > 6 ? 40 : 0), width: 110, overflow: "truncate" } };
    var axisVal = { type: "value" };
    return mount(name, {
      tooltip: { trigger: "axis", formatter: horizontal ? undefined : axisTooltip, valueFormatter: function (v) { return fmt.number(v); } },
      legend: { top: 0, type: "scroll" },
      grid: { left: horizontal ? 8 : 40, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: horizontal ? axisVal : axisCat,
      yAxis: horizontal ? axisCat : axisVal,
      series: series
    }, onClick);
  }

  if (data.tonnages) {
    var t = data.tonnages;
    var names = t.keys.map(function (k) { return k.split(":")[1]; });
    bars("tonnages", names, ["generated", "utilized", "disposed", "stored"].map(function (k) {
      return { name: label(k), type: "bar", data: t.series[k].map(num) };
    }), function (p) { drill("tonnages", t.keys[p.dataIndex]); });
  }

  if (data.flows) {
    var f = data.flows;
    var display = {};
    var short = {};
    f.nodes.forEach(function (n) {
      display[n.id] = labels[n.id] || n.key;
      short[n.id] = display[n.id];  // a category is its code and its name (truncated to the label's width)
    });
    mount("flows", {
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          if (p.dataType === "edge") {
            return display[p.data.source] + " → " + display[p.data.target] + ": " + fmt.quantity(p.data.raw, "t");
          }
          return display[p.name] + ": " + fmt.quantity(p.data.total, "t");
        }
      },
      series: [{
        type: "sankey",
        left: 8, right: phone ? 80 : 150, top: 8, bottom: 8,
        nodeGap: phone ? 6 : 10,
        emphasis: { focus: "adjacency" },
        lineStyle: { color: "gradient", curveness: 0.5, opacity: 0.45 },
        label: { formatter: function (p) { return short[p.name]; }, fontSize: phone ? 9 : 12, width: phone ? 78 : 150, overflow: "truncate" },
        data: f.nodes.map(function (n) { return { name: n.id, depth: n.layer, total: n.kind === "industry" || n.kind === "source" ? n.out_t : n.in_t }; }),
        links: f.links.map(function (l) { return { source: l.source, target: l.target, value: num(l.value_t), raw: l.value_t }; })
      }]
    }, function (p) { drill("flows", p.dataType === "edge" ? p.data.target : p.name); });
  }

  if (data.backlog) {
    var b = data.backlog;
    bars("backlog", b.months, ["issued", "closed", "open"].map(function (k) {
      return { name: label(k), type: k === "open" ? "line" : "bar", data: b.series[k].map(num) };
    }), function (p) { drill("backlog", b.months[p.dataIndex]); });
  }

  if (data.indicators && data.indicators.available) {
    var i = data.indicators;
    mount("indicators", {
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      color: ["#1f7a4d", "#b3261e", "#b8c4be"],
      series: [{
        type: "pie", radius: ["45%", "70%"], center: ["50%", "45%"],
        label: { formatter: "{b}: {c}" },
        data: [
          { name: label("met"), value: i.met, key: "met" },
          { name: label("not_met"), value: i.not_met, key: "not_met" },
          { name: label("unknown"), value: i.unknown, key: "unknown" }
        ]
      }]
    }, function (p) { drill("indicators", p.data.key); });
  }

  if (data.intensity) {
    var n = data.intensity;
    var chart = bars("intensity", n.names.slice().reverse(), [{
      name: label("intensity"), type: "bar", data: n.values.slice().reverse().map(num),
      markLine: n.target ? { symbol: "none", data: [{ xAxis: num(n.target), name: label("target") }] } : undefined
    }], function (p) { drill("intensity", n.ids[n.ids.length - 1 - p.dataIndex]); }, true);
    if (chart) { chart.setOption({ legend: { show: false } }); }
  }

  if (data.yearly) {
    var y = data.yearly;
    bars("yearly", y.years, ["isw", "hw"].map(function (k) {
      return { name: label(k), type: "bar", data: y.series[k].map(num) };
    }));
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
