// Indicators: the met-by-class chart of the report and the trend chart of the year comparison.
(function () {
  if (typeof echarts === "undefined") { return; }
  var read = function (id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  };

  var classData = read("class-chart-data");
  var classNode = document.getElementById("class-chart");
  if (classData && classNode) {
    var chart = echarts.init(classNode);
    var bar = function (name, values, color) {
      return {name: name, type: "bar", stack: "all", data: values, itemStyle: {color: color}, label: {show: true}};
    };
    chart.setOption({
      tooltip: {trigger: "axis"},
      legend: {},
      xAxis: {type: "category", data: classData.categories},
      yAxis: {type: "value", minInterval: 1},
      series: [
        bar(classData.labels.met, classData.met, "#2e7d4f"),
        bar(classData.labels.not_met, classData.not_met, "#c62828"),
        bar(classData.labels.needs_judgment, classData.needs_judgment, "#e0a800"),
        bar(classData.labels.unknown, classData.unknown, "#b0bec5")
      ]
    });
    classNode.dataset.rendered = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  var trend = read("trend-data");
  var trendNode = document.getElementById("trend-chart");
  var picker = document.getElementById("trend-indicator");
  if (trend && trendNode && picker) {
    var trendChart = echarts.init(trendNode);
    var draw = function (number) {
      var s = trend.series.filter(function (x) { return x.number === number; })[0];
      if (!s) { return; }
      var years = s.values.map(function (v) { return String(v.year); });
      var value = function (v) {
        if (v.achieved === null) { return null; }
        return s.numeric ? Number(v.achieved) : s.levels.indexOf(v.achieved);
      };
      var line = function (x) { return s.numeric ? Number(x) : s.levels.indexOf(x); };
      var marks = [];
      if (s.target !== null) { marks.push({name: "target", yAxis: line(s.target), label: {formatter: "target " + s.target}}); }
      trendChart.setOption({
        title: {text: s.number + " " + s.name, textStyle: {fontSize: 13}},
        tooltip: {trigger: "axis"},
        xAxis: {type: "category", data: years},
        yAxis: s.numeric ? {type: "value", name: s.unit} :
          {type: "value", min: 0, max: s.levels.length - 1, interval: 1,
           axisLabel: {formatter: function (i) { return s.levels[i] || ""; }}},
        series: [{
          type: s.numeric ? "bar" : "line", name: s.name, data: s.values.map(value),
          itemStyle: {color: "#2e7d4f"}, label: {show: true, formatter: function (p) {
            var v = s.values[p.dataIndex]; return v.achieved === null ? "" : v.achieved; }},
          markLine: {symbol: "none", lineStyle: {color: "#c62828", type: "dashed"}, data: marks}
        }]
      }, true);
      trendNode.dataset.indicator = number;
    };
    picker.addEventListener("change", function () { draw(picker.value); });
    document.querySelectorAll(".trend-link").forEach(function (a) {
      a.addEventListener("click", function (event) {
        event.preventDefault();
        picker.value = a.dataset.number;
        draw(a.dataset.number);
        trendNode.scrollIntoView({behavior: "smooth"});
      });
    });
    draw(picker.value);
    window.addEventListener("resize", function () { trendChart.resize(); });
  }
})();
