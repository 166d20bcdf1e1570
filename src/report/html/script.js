// Optional: the page is complete without this script. It adds an agent filter to the review
// queue, lets a click on an agent in the heatmap set it, and opens every evidence list for print.
(function () {
  "use strict";
  var table = document.getElementById("review-queue");
  var filter = document.getElementById("queue-filter");
  var select = document.getElementById("queue-agent");
  var shown = document.getElementById("queue-shown");
  if (table && filter && select && table.tBodies.length > 0) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var apply = function () {
      var agent = select.value;
      var n = 0;
      rows.forEach(function (row) {
        var hide = agent !== "" && row.getAttribute("data-agent") !== agent;
        row.hidden = hide;
        if (!hide) { n += 1; }
      });
      if (shown) { shown.textContent = n + " of " + rows.length + " shown"; }
    };
    select.addEventListener("change", apply);
    Array.prototype.forEach.call(document.querySelectorAll("a[data-filter-agent]"), function (a) {
      a.addEventListener("click", function () {
        var agent = a.getAttribute("data-filter-agent");
        var known = Array.prototype.some.call(select.options, function (o) { return o.value === agent; });
        select.value = known ? agent : "";
        apply();
        if (!known && shown) { shown.textContent = agent + " has nothing in the queue; showing all"; }
      });
    });
    filter.hidden = false;
    apply();
  }
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
  document.body.setAttribute("data-js", "ready");
})();
