/* Draw a digit: the page's logic, in two halves.
 *
 * The pure half (preprocess, prepareModel, forward, classProbabilities) has no DOM and is
 * exported to node for the tests; preprocess follows nn/web_preprocess.py step for step, and
 * forward is the MLP of nn/module.py on the JSON that nn.save writes. The page half draws on
 * the canvas and shows what the network makes of it. Vectors are plain arrays of numbers
 * (float64, as numpy's); images are row-major, ink in [0, 1].
 */
"use strict";

const FIELD = 28;
const BOX = 20;
const CENTRE = 14; // MNIST's mean centre of mass, in pixel indices (see web_preprocess.py)

/* ---------- preprocessing: a drawing to MNIST's 28x28 ---------- */

/** The 784 grey levels the network should see for an ink image (width x height). */
function preprocess(ink, width, height) {
  const field = new Array(FIELD * FIELD).fill(0);
  const bounds = inkBounds(ink, width, height);
  if (bounds === null) return field;
  const cropHeight = bounds.bottom - bounds.top + 1;
  const cropWidth = bounds.right - bounds.left + 1;
  const [boxHeight, boxWidth] = boxSize(cropHeight, cropWidth);
  const rows = areaWeights(cropHeight, boxHeight);
  const columns = areaWeights(cropWidth, boxWidth);

  // Resample rows first, then columns: digit = rows @ crop @ columns^T.
  const halfway = [];
  for (let i = 0; i < boxHeight; i++) {
    const line = new Array(cropWidth).fill(0);
    for (const [k, weight] of rows[i]) {
      const offset = (bounds.top + k) * width + bounds.left;
      for (let x = 0; x < cropWidth; x++) line[x] += weight * ink[offset + x];
    }
    halfway.push(line);
  }
  let digit = halfway.map((line) =>
    columns.map((weights) => weights.reduce((sum, [k, weight]) => sum + weight * line[k], 0))
  );

  // Thin strokes average out to grey; MNIST's strokes reach full ink, so stretch to 1.
  const peak = Math.max(...digit.map((line) => Math.max(...line)));
  digit = digit.map((line) => line.map((v) => v / peak));
  const rowInk = digit.map((line) => line.reduce((a, b) => a + b, 0));
  const columnInk = columns.map((_, x) => digit.reduce((sum, line) => sum + line[x], 0));
  const top = shift(rowInk, FIELD - boxHeight);
  const left = shift(columnInk, FIELD - boxWidth);
  digit.forEach((line, y) => field.splice((top + y) * FIELD + left, boxWidth, ...line));
  return field;
}

/** {top, bottom, left, right} of the pixels with any ink, or null for a blank image. */
function inkBounds(ink, width, height) {
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > 0) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  return bottom < 0 ? null : { top, bottom, left, right };
}

/** [height, width] of the digit scaled so that its longer side is BOX pixels. */
function boxSize(height, width) {
  const longer = Math.max(height, width);
  return [height, width].map((side) => Math.max(1, Math.floor((side * BOX) / longer + 0.5)));
}

/** For each new pixel, the [old pixel, weight] pairs that average over its area. */
function areaWeights(size, newSize) {
  const step = size / newSize;
  const weights = [];
  for (let i = 0; i < newSize; i++) {
    const start = (i * size) / newSize;
    const stop = ((i + 1) * size) / newSize;
    const pairs = [];
    for (let k = Math.floor(start); k < Math.min(size, Math.ceil(stop)); k++) {
      const overlap = Math.min(k + 1, stop) - Math.max(k, start);
      if (overlap > 0) pairs.push([k, overlap / step]);
    }
    weights.push(pairs);
  }
  return weights;
}

/** Offset that puts the centre of mass of profile (ink per row or column) at CENTRE. */
function shift(profile, largest) {
  let mass = 0, moment = 0;
  profile.forEach((value, index) => {
    mass += value;
    moment += index * value;
  });
  // The 1e-9 settles exact ties the same way as Python, whatever the order of summation.
  const offset = Math.floor(CENTRE - moment / mass + 0.5 + 1e-9);
  return Math.min(Math.max(offset, 0), largest);
}

/* ---------- the network: nn.MLP's forward pass ---------- */

const ACTIVATIONS = {
  sigmoid: (z) => z.map((v) => 1 / (1 + Math.exp(-v))),
  tanh: (z) => z.map(Math.tanh),
  relu: (z) => z.map((v) => Math.max(v, 0)),
  softmax: softmax,
  linear: (z) => z,
};

function softmax(z) {
  const largest = Math.max(...z); // shifted, so that exp cannot overflow
  const exps = z.map((v) => Math.exp(v - largest));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / total);
}

/** A model document (nn.save's JSON) checked and made ready for forward(). */
function prepareModel(saved) {
  const activation = saved.activation ?? "sigmoid";
  // Absent means sigmoid (Nielsen's own files); null means no output activation.
  const output = saved.output_activation === undefined ? "sigmoid" : saved.output_activation;
  const outputActivation = output === null ? "linear" : output;
  for (const name of [activation, outputActivation]) {
    if (!(name in ACTIVATIONS)) throw new Error(`unknown activation ${JSON.stringify(name)}`);
  }
  const layers = saved.weights.map((weight, l) => ({
    weight,
    bias: saved.biases[l].map((row) => (Array.isArray(row) ? row[0] : row)),
  }));
  layers.forEach(({ weight, bias }, l) => {
    const [inputs, outputs] = [saved.sizes[l], saved.sizes[l + 1]];
    if (weight.length !== outputs || weight.some((row) => row.length !== inputs)) {
      throw new Error(`layer ${l + 1}: weights should be ${outputs} x ${inputs}`);
    }
    if (bias.length !== outputs) throw new Error(`layer ${l + 1}: ${outputs} biases expected`);
  });
  return { sizes: saved.sizes, activation, outputActivation, layers };
}

/** Every layer's activations for one input x: [x, a1, ..., output], as model.activations. */
function forward(model, x) {
  const activations = [Array.from(x)];
  model.layers.forEach(({ weight, bias }, l) => {
    const a = activations[l];
    const z = weight.map((row, j) => row.reduce((sum, w, k) => sum + w * a[k], bias[j]));
    const last = l === model.layers.length - 1;
    activations.push(ACTIVATIONS[last ? model.outputActivation : model.activation](z));
  });
  return activations;
}

/** The outputs as probabilities, and how they were made from the outputs. */
function classProbabilities(output, outputActivation) {
  if (outputActivation === "softmax") {
    return { values: output, note: "The softmax outputs are the probabilities." };
  }
  if (outputActivation === "sigmoid") {
    const total = output.reduce((a, b) => a + b, 0);
    return {
      values: output.map((v) => v / total),
      note: "Sigmoid outputs don\u2019t add up to 1: the bars show them divided by their sum.",
    };
  }
  return {
    values: softmax(output),
    note: `The ${outputActivation} outputs are scores: the bars show their softmax.`,
  };
}

/* ---------- the page ---------- */

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
  model.sizes.slice(1, -1).forEach((size, l) => {
    const figure = document.createElement("figure");
    const rows = Math.ceil(size / 100);
    figure.innerHTML =
      `<canvas width="${Math.ceil(size / rows)}" height="${rows}"></canvas>` +
      `<figcaption><span>Layer ${l + 1}: ${size} ${model.activation} neurons</span>` +
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

if (typeof module !== "undefined") {
  module.exports = { preprocess, prepareModel, forward, classProbabilities, softmax };
} else {
  document.addEventListener("DOMContentLoaded", startPage);
}
