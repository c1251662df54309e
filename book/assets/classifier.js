// The site's classifier page: the book's model, exported to ONNX by chapter 6, run in the page by
// onnxruntime-web (WebAssembly). The photo is read with the browser's own decoder and never sent
// anywhere. The steps are python -m helpers classify's, in its order (helpers/classify.py):
// sniff the format from the bytes, refuse what cleaning refused, decode upright, composite
// transparency onto white, resize with TensorFlow's bilinear resize, float32 0-255 in NHWC.
"use strict";

const SUPPORTED = ["jpeg", "png", "bmp", "gif"]; // helpers.images.SUPPORTED_FORMATS
const MAX_PIXELS = 40000000; // helpers.images.DEFAULT_MAX_PIXELS: refused from the header
const MAX_BYTES = 64 * 1024 * 1024; // a larger file is refused before it is read

const here = document.currentScript.src;
const asset = (path) => new URL(path, here).href;

/** The format a file's first bytes say it has, as helpers.images.sniff_format names it. */
function sniffFormat(bytes) {
  const starts = (...values) => values.every((v, i) => bytes[i] === v);
  const text = (start, s) => [...s].every((c, i) => bytes[start + i] === c.charCodeAt(0));
  if (bytes.length === 0) return null;
  if (starts(0xff, 0xd8, 0xff)) return "jpeg";
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (text(0, "GIF87a") || text(0, "GIF89a")) return "gif";
  if (text(0, "BM") && bytes.length >= 26) return "bmp";
  if (text(0, "RIFF") && text(8, "WEBP")) return "webp";
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return "tiff";
  if (text(4, "ftyp")) return text(8, "avif") || text(8, "avis") ? "avif" : "heif";
  if (starts(0x00, 0x00, 0x01, 0x00)) return "ico";
  if (text(0, "8BPS")) return "psd";
  if (text(0, "%PDF")) return "pdf";
  return null;
}

/** Width and height from the header alone (PNG, GIF, BMP, JPEG), or null if it cannot tell. */
function headerSize(bytes, format) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (format === "png") return [view.getUint32(16), view.getUint32(20)];
    if (format === "gif") return [view.getUint16(6, true), view.getUint16(8, true)];
    if (format === "bmp") return [Math.abs(view.getInt32(18, true)), Math.abs(view.getInt32(22, true))];
    if (format === "jpeg") {
      for (let at = 2; at + 9 < bytes.length; ) {
        if (bytes[at] !== 0xff) return null;
        const marker = bytes[at + 1];
        const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
        if (isFrame) return [view.getUint16(at + 7), view.getUint16(at + 5)];
        at += 2 + view.getUint16(at + 2);
      }
    }
  } catch (error) {
    return null; // a header too short to read: the decoder will say what is wrong
  }
  return null;
}

/** Whether the file stops before its image does (a download cut short), as PIL would find. */
function truncated(bytes, format) {
  const find = (...pattern) => {
    for (let at = bytes.length - pattern.length; at >= 0; at--) {
      if (pattern.every((v, i) => bytes[at + i] === v)) return at;
    }
    return -1;
  };
  if (format === "jpeg") return find(0xff, 0xd9) < find(0xff, 0xda); // no end after the scan
  if (format === "png") return find(0x49, 0x45, 0x4e, 0x44) < 0; // no IEND chunk
  return false;
}

/** RGBA pixels of the decoded image, upright, transparency composited onto white. */
async function decodeOntoWhite(blob) {
  const bitmap = await createImageBitmap(blob, {
    imageOrientation: "from-image", // EXIF orientation applied, as PIL's exif_transpose
    colorSpaceConversion: "none", // no colour management: PIL ignores embedded profiles too
    premultiplyAlpha: "none",
  });
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  return { data, width: canvas.width, height: canvas.height, canvas };
}

/** tf.image.resize(..., "bilinear"): half-pixel centres, no antialiasing; float32 NHWC 0-255. */
function resizeBilinear(rgba, width, height, outWidth, outHeight) {
  const out = new Float32Array(outWidth * outHeight * 3);
  const axis = (outSize, inSize) => {
    const scale = inSize / outSize;
    return Array.from({ length: outSize }, (_, i) => {
      const position = (i + 0.5) * scale - 0.5;
      const low = Math.floor(position);
      return {
        low: Math.max(low, 0),
        high: Math.min(Math.ceil(position), inSize - 1),
        weight: position - low,
      };
    });
  };
  const ys = axis(outHeight, height);
  const xs = axis(outWidth, width);
  for (let y = 0; y < outHeight; y++) {
    const { low: top, high: bottom, weight: dy } = ys[y];
    for (let x = 0; x < outWidth; x++) {
      const { low: left, high: right, weight: dx } = xs[x];
      for (let c = 0; c < 3; c++) {
        const at = (row, column) => rgba[(row * width + column) * 4 + c];
        const upper = at(top, left) + (at(top, right) - at(top, left)) * dx;
        const lower = at(bottom, left) + (at(bottom, right) - at(bottom, left)) * dx;
        out[(y * outWidth + x) * 3 + c] = upper + (lower - upper) * dy;
      }
    }
  }
  return out;
}

class Classifier {
  constructor(root) {
    this.root = root;
    this.status = root.querySelector("#hos-status");
    this.result = root.querySelector("#hos-result");
    this.preview = root.querySelector("#hos-preview");
    this.model = root.querySelector("#hos-model");
    this.caveat = root.querySelector("#hos-caveat");
  }

  /** The model cannot be used: the message takes the place of the "Loading the model…" line. */
  unavailable(message) {
    this.model.textContent = message;
    this.model.classList.add("hos-error");
    this.say("");
    this.root.dataset.state = "error";
  }

  /** What an answer is worth: the data the model learned from, said next to the answer. */
  caveatText() {
    if (this.card.source === "synthetic") {
      return "This model learned from drawn faces, not photographs: on a photo its answer " +
        "means little, however sure the number looks.";
    }
    return `This model learned only from the training images of ${this.card.source}: on a ` +
      "picture unlike them its answer means little, however sure the number looks.";
  }

  async load() {
    const started = performance.now();
    const response = await fetch(asset("model/export.json"));
    if (!response.ok) throw new Error("this build has no exported model (chapter 6 writes it)");
    this.card = await response.json();
    ort.env.wasm.wasmPaths = asset("ort/");
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a plain host lacks
    this.session = await ort.InferenceSession.create(asset("model/model.onnx"), {
      executionProviders: ["wasm"],
    });
    this.loadSeconds = (performance.now() - started) / 1000;
    const [, height, width] = this.card.input_shape.length === 3
      ? [null, ...this.card.input_shape] : this.card.input_shape;
    this.size = { width, height };
    const card = this.card;
    this.model.textContent =
      `Model: profile ${card.profile}, source ${card.source}, trained ${card.trained}; classes ` +
      `${card.class_names.join(" and ")}; input ${width} × ${height}.` +
      (card.crop_faces ? " It learned from face crops and this page has no face detector: " +
        "crop your photo to the face first." : "");
    this.root.dataset.loadSeconds = this.loadSeconds.toFixed(3);
    this.say(`Ready (model loaded in ${this.loadSeconds.toFixed(2)} s). Pick or drop an image.`);
    this.root.dataset.state = "ready";
  }

  say(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle("hos-error", isError);
  }

  fail(name, problem) {
    this.result.textContent = "";
    this.caveat.textContent = "";
    this.result.dataset.probability = "";
    this.say(`error: ${name}: ${problem}`, true);
    this.root.dataset.state = "error";
  }

  async classify(file) {
    this.root.dataset.state = "working";
    const started = performance.now();
    if (file.size === 0) return this.fail(file.name, "empty file (0 bytes)");
    if (file.size > MAX_BYTES) {
      return this.fail(file.name, `too large (${(file.size / 1e6).toFixed(1)} MB; the page ` +
        `reads files up to ${MAX_BYTES / 1024 / 1024} MB)`);
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const format = sniffFormat(bytes);
    if (format === null) return this.fail(file.name, "content is not a known image format");
    if (format === "pdf") return this.fail(file.name, "content is PDF, not a picture");
    if (!SUPPORTED.includes(format)) {
      return this.fail(file.name, `${format} is not supported (the book reads ${SUPPORTED.join(", ")})`);
    }
    const declared = headerSize(bytes, format);
    if (declared && declared[0] * declared[1] > MAX_PIXELS) {
      return this.fail(file.name, `too large (${declared[0]} × ${declared[1]} pixels; the book ` +
        `refuses more than ${MAX_PIXELS.toLocaleString("en")} pixels before decoding)`);
    }
    if (truncated(bytes, format)) {
      return this.fail(file.name, "undecodable or truncated (the file ends before its image does)");
    }
    let image;
    try {
      image = await decodeOntoWhite(new Blob([bytes]));
    } catch (error) {
      return this.fail(file.name, "not a readable image (the browser could not decode it)");
    }
    if (Math.min(image.width, image.height) < this.card.min_side) {
      return this.fail(file.name, `too small (${image.width} x ${image.height} pixels; the model ` +
        `learned from images of at least ${this.card.min_side} pixels a side)`);
    }
    const { width, height } = this.size;
    const pixels = resizeBilinear(image.data, image.width, image.height, width, height);
    this.lastInput = pixels; // what the model was given, for the site's tests
    const input = new ort.Tensor("float32", pixels, [1, height, width, 3]);
    const outputs = await this.session.run({ [this.card.onnx_input_name]: input });
    const probability = outputs[this.session.outputNames[0]].data[0];
    const seconds = (performance.now() - started) / 1000;
    const names = this.card.class_names;
    const called = probability >= 0.5 ? names[1] : names[0];
    this.showPreview(image.canvas);
    this.result.textContent = `${called}: P(${names[1]}) = ${probability.toFixed(4)}`;
    this.result.dataset.probability = String(probability);
    this.result.dataset.className = called;
    this.result.dataset.file = file.name;
    this.result.dataset.seconds = seconds.toFixed(3);
    this.caveat.textContent = this.caveatText();
    this.say(`${file.name}: classified in ${seconds.toFixed(2)} s, on this machine.`);
    this.root.dataset.state = "done";
  }

  showPreview(source) {
    const side = 256;
    const scale = Math.min(side / source.width, side / source.height);
    this.preview.width = Math.round(source.width * scale);
    this.preview.height = Math.round(source.height * scale);
    this.preview.getContext("2d").drawImage(source, 0, 0, this.preview.width, this.preview.height);
    this.preview.hidden = false;
  }
}

function start() {
  const root = document.getElementById("hos-classifier");
  if (!root) return;
  const classifier = new Classifier(root);
  window.hosClassifier = classifier;
  const picker = root.querySelector("#hos-file");
  const drop = root.querySelector("#hos-drop");
  const take = (files) => {
    if (files && files.length) classifier.classify(files[0]).catch((e) => classifier.fail(files[0].name, e.message));
  };
  picker.addEventListener("change", () => take(picker.files));
  drop.addEventListener("dragover", (event) => event.preventDefault());
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    take(event.dataTransfer.files);
  });
  if (location.protocol === "file:") {
    classifier.unavailable("This page needs to be served over http (its model and WebAssembly " +
      "are fetched): run `python -m http.server -d _build/html` and open http://localhost:8000/.");
    return;
  }
  classifier.load().catch((error) => {
    classifier.unavailable(`The model could not be loaded: ${error.message}`);
  });
}

document.addEventListener("DOMContentLoaded", start);
