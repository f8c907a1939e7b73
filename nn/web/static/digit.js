/* Draw a digit, without the page: a drawing to MNIST's 28x28, and the network's answer.
 *
 * No DOM: app.js uses these functions in the page, and node loads this file for the tests.
 * preprocess follows nn/web/preprocess.py step for step, and forward is the MLP of
 * nn/layers/mlp.py on the JSON that nn.save writes. Vectors are plain arrays of numbers (float64,
 * as numpy's); images are row-major, ink in [0, 1].
 */
"use strict";

const FIELD = 28;
const BOX = 20;
const CENTRE = 14; // MNIST's mean centre of mass, in pixel indices (see nn/web/preprocess.py)

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
  // Layers are numbered as in Nielsen's book: the input is layer 1, so weights[0] is w^2.
  layers.forEach(({ weight, bias }, l) => {
    const [inputs, outputs] = [saved.sizes[l], saved.sizes[l + 1]];
    if (weight.length !== outputs || weight.some((row) => row.length !== inputs)) {
      throw new Error(`layer ${l + 2}: weights should be ${outputs} x ${inputs}`);
    }
    if (bias.length !== outputs) throw new Error(`layer ${l + 2}: ${outputs} biases expected`);
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

if (typeof module !== "undefined") {
  module.exports = { preprocess, prepareModel, forward, classProbabilities, softmax };
}
