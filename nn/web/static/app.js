/* Draw a digit: the page. Draws on the canvas and shows what the network makes of it, with
 * digit.js's functions (loaded before this file, in the same global scope).
 */
"use strict";

// Viridis, dark (low) to bright (high); style.css's .ramp shows the same stops as a legend.
const HEAT = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

function heatColour(t) {
  const position = Math.min(Math.max(t, 0), 1) * (HEAT.length - 1);
  const index = Math.min(Math.floor(position), HEAT.length - 2);
  const fraction = position - index;
  return HEAT[index].map((c, i) => Math.round(c + fraction * (HEAT[index + 1][i] - c)));
}

function startPage() {
  const pad = document.getElementById("pad");
  const context = pad.getContext("2d", { willReadFrequently: true });
  const seen = document.getElementById("seen").getContext("2d");
  const state = { model: null, drawing: false, stroke: null, before: null, pending: false };
  window.digitPage = state; // for the console, and for the browser test

  fetch("model.json")
    .then((response) => {
      if (!response.ok) throw new Error(`model.json: HTTP ${response.status}`);
      return response.json();
    })
    .then((saved) => {
      state.model = prepareModel(saved);
      describeModel(state.model, saved.description);
      update();
    })
    .catch((error) => showError(`Could not load the network: ${error.message}`));

  function point(event) {
    const box = pad.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * pad.width) / box.width,
      y: ((event.clientY - box.top) * pad.height) / box.height,
    };
  }

  // Each stroke is drawn as one path over the canvas as it was before the stroke: drawn
  // segment by segment, the antialiased edges would pile up where segments meet.
  function drawStroke() {
    const points = state.stroke;
    context.putImageData(state.before, 0, 0);
    context.fillStyle = context.strokeStyle = "#1b2430";
    context.lineWidth = pad.width * 0.075;
    context.lineCap = context.lineJoin = "round";
    context.beginPath();
    if (points.length === 1) {
      context.arc(points[0].x, points[0].y, context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill(); // a tap leaves a dot
      return;
    }
    context.moveTo(points[0].x, points[0].y);
    for (const p of points.slice(1)) context.lineTo(p.x, p.y);
    context.stroke();
  }

  pad.addEventListener("pointerdown", (event) => {
    pad.setPointerCapture(event.pointerId);
    state.drawing = true;
    state.before = context.getImageData(0, 0, pad.width, pad.height);
    state.stroke = [point(event)];
    scheduleUpdate();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!state.drawing) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    state.stroke.push(...(events.length ? events : [event]).map(point));
    scheduleUpdate();
  });
  for (const type of ["pointerup", "pointercancel"]) {
    pad.addEventListener(type, () => {
      state.drawing = false;
      scheduleUpdate();
    });
  }
  document.getElementById("clear").addEventListener("click", () => {
    context.clearRect(0, 0, pad.width, pad.height);
    state.stroke = null;
    scheduleUpdate();
  });

  // One update per frame, however many pointer events arrive.
  function scheduleUpdate() {
    if (state.pending) return;
    state.pending = true;
    requestAnimationFrame(() => {
      state.pending = false;
      if (state.stroke) drawStroke();
      update();
    });
  }

  function update() {
    const pixels = context.getImageData(0, 0, pad.width, pad.height).data;
    // The drawing is opaque ink on a transparent canvas, so alpha is the ink.
    const ink = new Float64Array(pad.width * pad.height);
    for (let i = 0; i < ink.length; i++) ink[i] = pixels[4 * i + 3] / 255;
    state.input = preprocess(ink, pad.width, pad.height);
    showInput(state.input);
    const blank = state.input.every((v) => v === 0);
    document.body.classList.toggle("blank", blank);
    if (!state.model) return;
    state.activations = forward(state.model, state.input);
    const output = state.activations[state.activations.length - 1];
    state.probabilities = classProbabilities(output, state.model.outputActivation).values;
    showPrediction(blank ? null : state.probabilities);
    showHidden(state.model, state.activations);
  }

  function showInput(input) {
    const image = seen.createImageData(FIELD, FIELD);
    input.forEach((v, i) => {
      const grey = Math.round(255 * (1 - v));
      image.data.set([grey, grey, grey, 255], 4 * i);
    });
    seen.putImageData(image, 0, 0);
  }
}

const RANGES = {
  sigmoid: ["0", "1"],
  tanh: ["\u22121", "1"],
  relu: ["0", "largest"], // unbounded: scaled to this drawing's largest activation
};

function describeModel(model, description) {
  const hidden = model.sizes.length - 2;
  document.getElementById("model").textContent =
    `Network [${model.sizes.join(", ")}] \u00b7 ` +
    (hidden ? `${model.activation} hidden layer${hidden > 1 ? "s" : ""} \u00b7 ` : "") +
    `${model.outputActivation} output`;
  document.getElementById("description").textContent = description ?? "";
  document.getElementById("note").textContent = classProbabilities(
    [0],
    model.outputActivation
  ).note;

  const bars = document.getElementById("bars");
  bars.replaceChildren();
  for (let digit = 0; digit < model.sizes[model.sizes.length - 1]; digit++) {
    const row = document.createElement("li");
    row.innerHTML =
      `<span class="label">${digit}</span>` +
      `<span class="track"><span class="fill"></span></span><span class="value"></span>`;
    bars.append(row);
  }

  const strips = document.getElementById("hidden");
  strips.replaceChildren();
  const [low, high] = RANGES[model.activation] ?? ["smallest", "largest"];
  // Nielsen's numbering, as everywhere in nn: the input is layer 1, the first hidden layer 2.
  model.sizes.slice(1, -1).forEach((size, l) => {
    const figure = document.createElement("figure");
    const rows = Math.ceil(size / 100);
    figure.innerHTML =
      `<canvas width="${Math.ceil(size / rows)}" height="${rows}"></canvas>` +
      `<figcaption><span>Layer ${l + 2}: ${size} ${model.activation} neurons</span>` +
      `<span class="legend">${low}<span class="ramp"></span>${high}</span></figcaption>`;
    strips.append(figure);
  });
  document.getElementById("hidden-section").hidden = hidden === 0;
}

function showPrediction(probabilities) {
  const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  document.getElementById("digit").textContent = best < 0 ? "?" : String(best);
  document.getElementById("confidence").textContent =
    best < 0 ? "Draw a digit in the box" : `${(100 * probabilities[best]).toFixed(1)}% sure`;
  document.querySelectorAll("#bars li").forEach((row, digit) => {
    const p = probabilities ? probabilities[digit] : 0;
    row.classList.toggle("best", digit === best);
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(2)}%`;
    row.querySelector(".value").textContent = probabilities ? `${(100 * p).toFixed(1)}%` : "";
  });
}

function showHidden(model, activations) {
  document.querySelectorAll("#hidden canvas").forEach((canvas, l) => {
    const values = activations[l + 1];
    const [low, high] = {
      sigmoid: [0, 1],
      tanh: [-1, 1],
      relu: [0, Math.max(...values) || 1],
    }[model.activation] ?? [Math.min(...values), Math.max(...values)];
    const strip = canvas.getContext("2d");
    const image = strip.createImageData(canvas.width, canvas.height);
    values.forEach((v, i) => {
      image.data.set([...heatColour((v - low) / (high - low || 1)), 255], 4 * i);
    });
    strip.putImageData(image, 0, 0);
  });
}

function showError(message) {
  const error = document.getElementById("error");
  error.textContent = message;
  error.hidden = false;
}

document.addEventListener("DOMContentLoaded", startPage);
