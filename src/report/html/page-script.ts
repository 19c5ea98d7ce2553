/**
 * The scripts of report.html, as browser JavaScript source (plain strings, so that no build step or
 * coverage instrumentation can change what the page runs).
 */

/** Click a header to sort by it (numbers by data-v, text otherwise); click again to reverse. Blanks sort last. */
export const SORT_SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var cur = th.getAttribute('data-sort');
      var numeric = body.rows.length > 0 && body.rows[0].cells[col].hasAttribute('data-v');
      var desc = cur ? cur === 'asc' : numeric;   // first click: numbers high-first, text A-Z
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('data-sort'); });
      th.setAttribute('data-sort', desc ? 'desc' : 'asc');
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (tr) {
        var td = tr.cells[col], v = td.getAttribute('data-v');
        return v === null ? td.textContent : (v === '' ? NaN : Number(v));
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x === 'number') {
          if (isNaN(x)) return isNaN(y) ? 0 : 1;   // blanks last in either direction
          if (isNaN(y)) return -1;
          return desc ? y - x : x - y;
        }
        return desc ? String(y).localeCompare(String(x)) : String(x).localeCompare(String(y));
      });
      rows.forEach(function (tr) { body.appendChild(tr); });
    });
  });
});`;

/**
 * The interactive charts, from the JSON in <script id="melseg-data"> (see PageData in page.ts):
 *   - #chart-best: best IoU per model (bars) and loss (groups); the legend toggles models;
 *   - #chart-top: IoU per epoch of the best few combinations; the legend toggles them;
 *   - .facet canvases: per loss, train/valid loss (left axis) and IoU (right axis) per model; the
 *     checkboxes above them show or hide a model or a quantity in every panel at once.
 * Hovering shows the values under the pointer. Animations are off: the page is a document.
 */
export const CHARTS_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('melseg-data').textContent);
  if (typeof Chart === 'undefined') {
    document.querySelectorAll('.chart-box').forEach(function (el) { el.textContent = 'The charts need JavaScript and the inlined Chart.js, which did not load.'; });
    return;
  }
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
  Chart.defaults.color = '#222';
  Chart.defaults.maintainAspectRatio = false;
  var fmt = function (v, d) { return v === null || v === undefined || !isFinite(v) ? 'n/a' : Number(v).toFixed(d); };
  var colourOf = function (model) { return data.colours[model] || '#777'; };
  // Whole epochs only; a single epoch gets half an epoch either side.
  var epochAxis = function () {
    var one = data.maxEpoch <= 1;
    return {
      type: 'linear', min: one ? 0.5 : 1, max: one ? 1.5 : data.maxEpoch, title: { display: true, text: 'epoch' }, ticks: { precision: 0 },
      afterBuildTicks: function (scale) { scale.ticks = scale.ticks.filter(function (t) { return Number.isInteger(t.value); }); },
    };
  };

  // Best IoU per model and loss.
  var lookup = {};
  data.best.forEach(function (b) { lookup[b.model + '|' + b.criterion] = b; });
  new Chart(document.getElementById('chart-best'), {
    type: 'bar',
    data: {
      labels: data.losses,
      datasets: data.models.map(function (m) {
        return {
          label: m,
          data: data.losses.map(function (l) { var b = lookup[m + '|' + l]; return b ? b.bestMetric : null; }),
          backgroundColor: colourOf(m),
          minBarLength: 5,
          maxBarThickness: 48,
        };
      }),
    },
    options: {
      interaction: { mode: 'nearest', intersect: true },
      plugins: {
        legend: { position: 'top' },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var b = lookup[ctx.dataset.label + '|' + ctx.label];
              return ctx.dataset.label + ': IoU ' + fmt(ctx.raw, 4) + (b && b.bestEpoch !== null ? ' (epoch ' + b.bestEpoch + ')' : '');
            },
          },
        },
      },
      scales: {
        x: { ticks: { autoSkip: false, maxRotation: 60, minRotation: 30 } },
        y: { min: data.bestAxis.min, max: data.bestAxis.max, ticks: { stepSize: data.bestAxis.step }, title: { display: true, text: 'best validation IoU' } },
      },
    },
  });

  // IoU per epoch of the best few combinations.
  var byKey = {};
  data.series.forEach(function (s) { byKey[s.model + '|' + s.criterion] = s; });
  var palette = data.palette;
  new Chart(document.getElementById('chart-top'), {
    type: 'line',
    data: {
      datasets: data.topKeys.map(function (key, i) {
        var s = byKey[key], b = lookup[key];
        var name = '#' + (i + 1) + ' ' + s.model + ' + ' + s.criterion;
        return {
          label: name + ' (best ' + fmt(b.bestMetric, 3) + ', epoch ' + b.bestEpoch + ')',
          name: name,
          data: s.epoch.map(function (e, j) { return { x: e, y: s.iou[j] }; }),
          borderColor: palette[i % palette.length],
          backgroundColor: palette[i % palette.length],
          pointRadius: s.epoch.map(function (e) { return e === b.bestEpoch ? 5 : 2; }),
          borderWidth: 2,
        };
      }),
    },
    options: {
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      plugins: {
        legend: { position: 'bottom', align: 'start' },
        tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.name + ': IoU ' + fmt(ctx.raw.y, 4); } } },
      },
      scales: {
        x: epochAxis(),
        y: { min: data.topAxis.min, max: data.topAxis.max, ticks: { stepSize: data.topAxis.step }, title: { display: true, text: 'validation IoU' } },
      },
    },
  });

  // Per-loss panels; the checkboxes decide which models and quantities every panel shows.
  var QUANTITIES = [
    { key: 'train', label: 'train loss', axis: 'y', dash: [], width: 1.5, point: 'circle' },
    { key: 'valid', label: 'valid loss', axis: 'y', dash: [6, 4], width: 1.5, point: 'triangle' },
    { key: 'iou', label: 'IoU', axis: 'y1', dash: [], width: 2.5, point: 'rect' },
  ];
  var shown = { model: {}, quantity: {} };
  data.models.forEach(function (m) { shown.model[m] = true; });
  QUANTITIES.forEach(function (q) { shown.quantity[q.key] = true; });
  var facets = [];
  document.querySelectorAll('canvas.facet').forEach(function (canvas) {
    var loss = canvas.getAttribute('data-loss');
    var datasets = [];
    data.series.filter(function (s) { return s.criterion === loss; }).forEach(function (s) {
      QUANTITIES.forEach(function (q) {
        datasets.push({
          label: s.model + ' ' + q.label,
          model: s.model,
          quantity: q.key,
          yAxisID: q.axis,
          data: s.epoch.map(function (e, j) { return { x: e, y: s[q.key][j] }; }),
          borderColor: colourOf(s.model),
          backgroundColor: colourOf(s.model),
          borderDash: q.dash,
          borderWidth: q.width,
          pointStyle: q.point,
          pointRadius: s.epoch.length === 1 ? 3 : q.key === 'iou' ? 1.5 : 0,
          pointHoverRadius: 4,
        });
      });
    });
    facets.push(new Chart(canvas, {
      type: 'line',
      data: { datasets: datasets },
      options: {
        interaction: { mode: 'index', intersect: false },
        plugins: {
          legend: { display: false },
          title: { display: true, text: loss, font: { weight: 'bold', size: 14 } },
          tooltip: { callbacks: { title: function (items) { return items.length ? 'epoch ' + items[0].raw.x : ''; }, label: function (ctx) { return ctx.dataset.label + ': ' + fmt(ctx.raw.y, 4); } } },
        },
        scales: {
          x: epochAxis(),
          y: { position: 'left', title: { display: true, text: 'loss' }, grace: '5%' },
          y1: { position: 'right', min: 0, max: 1, title: { display: true, text: 'IoU' }, grid: { drawOnChartArea: false } },
        },
      },
    }));
  });
  var applyToggles = function () {
    facets.forEach(function (chart) {
      chart.data.datasets.forEach(function (ds, i) { chart.setDatasetVisibility(i, shown.model[ds.model] && shown.quantity[ds.quantity]); });
      chart.update();
    });
  };
  document.querySelectorAll('input[data-toggle]').forEach(function (box) {
    box.addEventListener('change', function () {
      shown[box.getAttribute('data-toggle')][box.value] = box.checked;
      applyToggles();
    });
  });
})();`;
