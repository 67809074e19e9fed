/* global document */
/**
 * Line charts drawn as inline SVG with DOM APIs: no chart library, nothing
 * fetched. Every coordinate is a number computed here; every label goes in
 * as a text node. One chart: a few named lines over time, a y axis from 0 to
 * the largest value, the first and last time under it.
 */
const NS = "http://www.w3.org/2000/svg";
const WIDTH = 320;
const HEIGHT = 110;
const PAD = { left: 44, right: 6, top: 14, bottom: 16 };

/** An SVG element with numeric or fixed attributes (never data from a message). */
function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs ?? {})) el.setAttribute(name, String(value));
  for (const c of children) el.append(c);
  return el;
}

/**
 * lineChart("Processing time", [{ name: "p50", cls: "l1", values: [[t, v], …] }], formatY)
 * `values` hold [unix ms, number | null]; a null breaks the line.
 */
export function lineChart(title, lines, formatY) {
  const all = lines.flatMap((l) => l.values);
  const xs = all.map(([t]) => t);
  const ys = all.map(([, v]) => v).filter((v) => v !== null);
  const svg = s("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", role: "img" });
  svg.append(s("title", null, title));
  svg.append(s("text", { x: 2, y: 10, class: "chart-title" }, title));
  if (xs.length === 0 || ys.length === 0) {
    svg.append(s("text", { x: PAD.left, y: HEIGHT / 2, class: "chart-empty" }, "no reports yet"));
    return svg;
  }
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const yMax = Math.max(...ys, 0) || 1;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const px = (t) => PAD.left + ((t - x0) / (x1 - x0)) * plotW;
  const py = (v) => PAD.top + plotH - (v / yMax) * plotH;
  svg.append(s("line", { x1: PAD.left, y1: PAD.top + plotH, x2: WIDTH - PAD.right, y2: PAD.top + plotH, class: "axis" }));
  svg.append(s("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: PAD.top + plotH, class: "axis" }));
  svg.append(s("text", { x: PAD.left - 3, y: PAD.top + 4, class: "tick", "text-anchor": "end" }, formatY(yMax)));
  svg.append(s("text", { x: PAD.left - 3, y: PAD.top + plotH, class: "tick", "text-anchor": "end" }, formatY(0)));
  svg.append(s("text", { x: PAD.left, y: HEIGHT - 3, class: "tick" }, clock(x0)));
  svg.append(s("text", { x: WIDTH - PAD.right, y: HEIGHT - 3, class: "tick", "text-anchor": "end" }, clock(x1)));
  let legendX = 150;
  for (const line of lines) {
    let d = "";
    let pen = "M";
    for (const [t, v] of line.values) {
      if (v === null) {
        pen = "M";
        continue;
      }
      d += `${pen}${px(t).toFixed(1)},${py(v).toFixed(1)} `;
      pen = "L";
    }
    if (d !== "") svg.append(s("path", { d: d.trim(), class: `series ${line.cls}`, "data-series": line.name }));
    // A lone point draws no line: a dot shows it.
    if (line.values.filter(([, v]) => v !== null).length === 1) {
      const [t, v] = line.values.find(([, y]) => y !== null);
      svg.append(s("circle", { cx: px(t), cy: py(v), r: 2, class: `dot ${line.cls}` }));
    }
    svg.append(s("text", { x: legendX, y: 10, class: `legend ${line.cls}` }, line.name));
    legendX += 8 + line.name.length * 6;
  }
  return svg;
}

function clock(ms) {
  return new Date(ms).toISOString().slice(11, 19);
}
