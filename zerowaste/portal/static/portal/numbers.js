// The one number formatter of the charts (the server's is zerowaste/core/formatting.py, ADR 0050):
// 3 decimals for tonnes, thousands separators, the unit in the page's language (<html lang>).
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh-hans").toLowerCase().indexOf("zh") === 0;
  var UNITS = {
    "t": ["吨", "t", 3],
    "kg": ["千克", "kg", 0],
    "t/month": ["吨/月", "t/month", 3],
    "t/year": ["吨/年", "t/year", 3],
    "t/day": ["吨/日", "t/day", 3],
    "CNY": ["元", "CNY", 2],
    "CNY/t": ["元/吨", "CNY/t", 2],
    "t/10k CNY": ["吨/万元", "t/10k CNY", 3]
  };
  var formats = {};

  function format(places) {
    if (!formats[places]) {
      formats[places] = new Intl.NumberFormat("en-US", { minimumFractionDigits: places, maximumFractionDigits: places });
    }
    return formats[places];
  }
  // A number as the server shows it (1,234.500); "" for nothing. The JSON carries decimal strings.
  function number(value, places) {
    if (value === null || value === undefined || value === "") { return ""; }
    var n = Number(value);
    if (!isFinite(n)) { return String(value); }
    var text = format(places === undefined ? 3 : places).format(n);
    return text.replace(/^-(0[.,]?0*)$/, "$1");  // never "-0.000"
  }
  function unit(key) { var u = UNITS[key || "t"]; return u ? (zh ? u[0] : u[1]) : (key || ""); }
  function quantity(value, key) {
    var u = UNITS[key || "t"];
    var text = number(value, u ? u[2] : 3);
    return text === "" ? "—" : text + " " + unit(key);
  }
  function count(value) { return number(value, 0); }

  window.zwNumbers = { number: number, quantity: quantity, count: count, unit: unit, chinese: zh };
})();
