// The dashboard's weekly charts, drawn from the trend tables beside them (the tables are
// the source and stay on the page, folded); without Chart.js (static/vendor) the tables
// alone show.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (typeof window.Chart === "undefined") return;
  document.querySelectorAll("[data-chart-for]").forEach((box) => {
    const table = document.getElementById(box.dataset.chartFor);
    if (!table) return;
    const rows = Array.from(table.tBodies[0].rows);
    const labels = rows.map((row) => row.cells[0].dataset.week.slice(5)); // the week's end, MM-DD
    const values = rows.map((row) => {
      const raw = row.cells[1].dataset.value;
      return raw === "" ? null : Math.round(parseFloat(raw) * 1000) / 10;
    });
    // Weeks an incident overlaps (its surveys held): a larger, differently coloured point.
    const incident = rows.map((row) => Boolean(row.cells[0].dataset.incident));
    box.hidden = false;
    new window.Chart(box.querySelector("canvas"), {
      type: "line",
      data: {
        labels,
        datasets: [{ label: `${table.dataset.label} (%)`, data: values, spanGaps: true,
                     borderColor: "#1f5fa8", backgroundColor: "#1f5fa8",
                     pointRadius: incident.map((marked) => (marked ? 6 : 3)),
                     pointStyle: incident.map((marked) => (marked ? "triangle" : "circle")),
                     pointBackgroundColor: incident.map((marked) => (marked ? "#b35900" : "#1f5fa8")) }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } },
        plugins: { legend: { display: false } },
      },
    });
    const details = box.parentElement.querySelector("details");
    if (details) details.open = false; // the table stays, folded under the chart
  });
});
