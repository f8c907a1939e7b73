// The explorer's stepper. Python computed every number and every line of text (see
// autodiff/drawing/explorer.py and steps.py); this script only reveals them, one tensor per
// step: positions 1..F show the F values in topological order, F+1..F+B the B gradients in
// the order of data.backward (reversed topological).
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("explore-data").textContent);
  const tensors = data.tensors;
  const backwardOrder = data.backward;
  const F = tensors.length;
  const END = F + backwardOrder.length;
  const page = document.documentElement;
  const svg = document.querySelector("#graph svg");
  const panel = document.getElementById("panel");
  const status = document.getElementById("status");
  const buttons = {};
  for (const id of ["forward", "backward", "step", "back", "play", "reset", "fold"]) {
    buttons[id] = document.getElementById(id);
  }
  const speed = document.getElementById("speed");
  const fit = document.getElementById("fit");
  fit.addEventListener("change", () => {
    document.getElementById("graph").classList.toggle("fit", fit.checked);
    fit.blur(); // so that the arrow keys and space step again
    render();
  });

  // owner index -> the nodes and edges drawn for that tensor (its node, its op, their edges).
  const owned = new Map();
  for (const element of svg.querySelectorAll("[data-owner]")) {
    const owner = Number(element.dataset.owner);
    if (!owned.has(owner)) owned.set(owner, []);
    owned.get(owner).push(element);
  }
  const gradRank = new Map(backwardOrder.map((tensor, rank) => [tensor, rank]));
  let position = 0;
  let timer = null;

  function phaseAt(p) {
    if (p === 0) return "idle";
    if (p <= F) return "forward";
    return p < END ? "backward" : "done";
  }

  function currentAt(p) {
    if (p === 0) return null;
    return p <= F ? p - 1 : backwardOrder[p - F - 1];
  }

  // A node's numbers: the whole tensor, or one element of it (expand=True draws scalars).
  function part(numbers, element) {
    if (element === undefined) return numbers;
    return Array.isArray(numbers) ? numbers.flat(Infinity)[Number(element)] : numbers;
  }

  function reveal(element, key, shown, numbers) {
    const name = `data-${key}`;
    element.classList.toggle(key === "value" ? "has-value" : "has-grad", shown);
    if (!element.hasAttribute("data-node")) return;
    if (shown) {
      element.setAttribute(name, JSON.stringify(part(numbers, element.dataset.element)));
    } else {
      element.removeAttribute(name);
    }
  }

  function render() {
    const valuesShown = Math.min(position, F);
    const gradsShown = Math.max(0, position - F);
    const current = currentAt(position);
    for (let i = 0; i < F; i++) {
      const gradShown = gradRank.has(i) && gradRank.get(i) < gradsShown;
      for (const element of owned.get(i) || []) {
        reveal(element, "value", i < valuesShown, tensors[i].value);
        reveal(element, "grad", gradShown, tensors[i].grad);
        element.classList.toggle("current", i === current);
      }
    }
    page.dataset.phase = phaseAt(position);
    const node = (owned.get(current) || []).find((element) => element.hasAttribute("data-node"));
    node?.scrollIntoView({ block: "nearest", inline: "nearest" });
    showPanel(current);
    showFolds(current);
    if (position === 0) status.textContent = `${F} tensors: press Forward or Step`;
    else if (position <= F) status.textContent = `forward: value ${position} of ${F}`;
    else status.textContent = `backward: gradient ${position - F} of ${END - F}`;
    buttons.back.disabled = position === 0;
    buttons.step.disabled = position === END;
  }

  function showPanel(current) {
    panel.replaceChildren();
    if (current === null) {
      line("hint", "Forward shows each tensor's value in the order it was computed; " +
        "Backward then shows each gradient, from the output's 1 back to the inputs, with " +
        "the rule that made it. Keys: arrows step, space plays, Home resets.");
      return;
    }
    const lines = position <= F ? tensors[current].forward : tensors[current].backward;
    for (const [kind, text] of lines) line(kind, text);
  }

  function line(kind, text) {
    const div = document.createElement("div");
    div.className = kind;
    div.textContent = text;
    panel.appendChild(div);
  }

  function go(to) {
    position = Math.max(0, Math.min(END, to));
    render();
  }

  function pause() {
    clearTimeout(timer);
    timer = null;
    buttons.play.textContent = "Play";
  }

  function tick() {
    go(position + 1);
    if (position >= END) pause();
    else timer = setTimeout(tick, 1000 / Number(speed.value));
  }

  function play() {
    if (timer !== null) return pause();
    if (position >= END) go(0);
    buttons.play.textContent = "Pause";
    tick();
  }

  const actions = {
    forward: () => go(1),
    backward: () => go(F + 1),
    step: () => go(position + 1),
    back: () => go(position - 1),
    reset: () => go(0),
  };
  for (const [id, action] of Object.entries(actions)) {
    buttons[id].addEventListener("click", () => {
      pause();
      action();
    });
  }
  buttons.play.addEventListener("click", play);
  speed.addEventListener("input", () => {
    document.getElementById("speed-value").textContent = speed.value;
  });
  const keys = {
    ArrowRight: "step", ArrowLeft: "back", ArrowUp: "forward", ArrowDown: "backward",
    Home: "reset", Escape: "reset",
  };
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement && event.target.type === "range") return;
    if (event.key === " ") {
      event.preventDefault();
      play();
    } else if (keys[event.key]) {
      event.preventDefault();
      pause();
      actions[keys[event.key]]();
    }
  });

  // ---- groups (clusters) that fold into one box; click a group's name or the box
  const folds = new Map();
  const SVG = "http://www.w3.org/2000/svg";
  for (const cluster of svg.querySelectorAll("[data-cluster]")) {
    const box = cluster.getBBox();
    const fold = document.createElementNS(SVG, "g");
    fold.setAttribute("class", "fold");
    const rect = document.createElementNS(SVG, "rect");
    for (const [key, value] of Object.entries({
      x: box.x, y: box.y, width: box.width, height: box.height, rx: 6,
    })) rect.setAttribute(key, value);
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", box.x + box.width / 2);
    label.setAttribute("y", box.y + box.height / 2);
    label.setAttribute("text-anchor", "middle");
    label.setAttribute("font-size", "12");
    label.textContent = `${cluster.dataset.name} (folded)`;
    fold.append(rect, label);
    cluster.parentNode.appendChild(fold);
    folds.set(cluster.dataset.cluster, { fold, folded: false });
    const toggle = () => setFold(cluster.dataset.cluster, !folds.get(cluster.dataset.cluster).folded);
    cluster.querySelector("text")?.addEventListener("click", toggle);
    fold.addEventListener("click", toggle);
  }
  buttons.fold.hidden = folds.size === 0;
  buttons.fold.addEventListener("click", () => {
    const anyOpen = [...folds.values()].some((f) => !f.folded);
    for (const key of folds.keys()) setFold(key, anyOpen);
  });

  function setFold(key, folded) {
    folds.get(key).folded = folded;
    folds.get(key).fold.classList.toggle("shown", folded);
    for (const element of svg.querySelectorAll(`[data-group="${key}"]`)) {
      element.classList.toggle("folded-away", folded);
    }
    showFolds(currentAt(position));
  }

  function showFolds(current) {
    const groups = new Set(
      (owned.get(current) || []).map((element) => element.dataset.group).filter((g) => g),
    );
    for (const [key, { fold }] of folds) fold.classList.toggle("current", groups.has(key));
  }

  render();
})();
