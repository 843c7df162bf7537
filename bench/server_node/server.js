'use strict';
// bench/bench_server.py's Node server: the bundled segmentation model on onnxruntime-node, a JS port of the app's
// blur compose (desktop_app/core: adapters.preprocess, masks.soft_threshold, masks.upsample,
// effects/background.blurred_background with the person left out, blend), JPEGs through sharp (libvips).
// POST /compose: a JPEG frame in, the composed frame out as a JPEG (quality 90, 4:2:0).
// Temporal smoothing, hysteresis and the live edge snapping (masks.refine_edges with the steady guide) as the
// app's MaskRefiner, one history per X-Client. The blend is over the whole frame (the app's blend_edges gives the
// same pixels); resizes and the grey conversion are float ports of OpenCV's fixed-point ones.
// Binds only to 127.0.0.1 on an ephemeral port, prints "PORT <n>", stops by itself after --timeout seconds
// or when its parent process is gone.
//   node server.js [--timeout 600] [--batch N --models DIR]

const http = require('http');
const path = require('path');
const ort = require('onnxruntime-node');
const sharp = require('sharp');

sharp.concurrency(1);
const MODELS = path.resolve(__dirname, '..', '..', 'models');
const QUALITY = 90;
const STRENGTH = 50;
const THRESHOLD = 0.5;
const FEATHER = 0.3;

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

// ---------------------------------------------------------------------------------------- pre/post processing

function preprocess(rgb, width, height, mw, mh) {
  // Corner-aligned bilinear (pixel 0 -> 0, scale src/dst) then * 1/255, NHWC float32: adapters.preprocess.
  const out = new Float32Array(mw * mh * 3);
  const sx = width / mw;
  const sy = height / mh;
  for (let y = 0; y < mh; y++) {
    const fy = y * sy;
    const y0 = Math.min(Math.floor(fy), height - 1);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = fy - y0;
    for (let x = 0; x < mw; x++) {
      const fx = x * sx;
      const x0 = Math.min(Math.floor(fx), width - 1);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = fx - x0;
      const a = (y0 * width + x0) * 3;
      const b = (y0 * width + x1) * 3;
      const c = (y1 * width + x0) * 3;
      const d = (y1 * width + x1) * 3;
      const o = (y * mw + x) * 3;
      for (let k = 0; k < 3; k++) {
        const top = rgb[a + k] + (rgb[b + k] - rgb[a + k]) * wx;
        const bottom = rgb[c + k] + (rgb[d + k] - rgb[c + k]) * wx;
        out[o + k] = (top + (bottom - top) * wy) / 255;
      }
    }
  }
  return out;
}

function gaussianKernel(sigma) {
  const size = (Math.round(sigma * 4 * 2 + 1)) | 1; // OpenCV's size for float images
  const half = (size - 1) / 2;
  const k = new Float32Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) { k[i] = Math.exp(-((i - half) ** 2) / (2 * sigma * sigma)); sum += k[i]; }
  return k.map((v) => v / sum);
}

function separable(src, w, h, channels, kernel) {
  // Two 1-D passes, borders replicated (cv2.sepFilter2D / GaussianBlur with BORDER_REPLICATE).
  const half = (kernel.length - 1) / 2;
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let i = 0; i < kernel.length; i++) {
          const xx = Math.min(w - 1, Math.max(0, x + i - half));
          s += kernel[i] * src[(y * w + xx) * channels + c];
        }
        tmp[(y * w + x) * channels + c] = s;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let i = 0; i < kernel.length; i++) {
          const yy = Math.min(h - 1, Math.max(0, y + i - half));
          s += kernel[i] * tmp[(yy * w + x) * channels + c];
        }
        out[(y * w + x) * channels + c] = s;
      }
    }
  }
  return out;
}

function softThreshold(prob, mw, mh) {
  // masks.soft_threshold: smoothstep over threshold +- feather/2, then a Gaussian of sigma feather*0.01*max side.
  const half = FEATHER * 0.5;
  const low = Math.max(THRESHOLD - half, 0);
  const high = Math.min(THRESHOLD + half, 1);
  const alpha = new Float32Array(prob.length);
  for (let i = 0; i < prob.length; i++) {
    const x = Math.min(1, Math.max(0, (prob[i] - low) / (high - low)));
    alpha[i] = x * x * (3 - 2 * x);
  }
  const sigma = FEATHER * 0.01 * Math.max(mw, mh);
  return sigma >= 0.3 ? separable(alpha, mw, mh, 1, gaussianKernel(sigma)) : alpha;
}

function taps(src, dst) {
  // For each output index on one axis: the two source indices and the weight of the second (half-pixel centres).
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const wt = new Float32Array(dst);
  const scale = src / dst;
  for (let x = 0; x < dst; x++) {
    const f = Math.max(0, (x + 0.5) * scale - 0.5);
    i0[x] = Math.min(Math.floor(f), src - 1);
    i1[x] = Math.min(i0[x] + 1, src - 1);
    wt[x] = f - i0[x];
  }
  return [i0, i1, wt];
}

const SMOOTHING = 0.5; // EffectParams.smoothing: live frames are smoothed across time
const GATE_WIDTH = 0.5;
const HYSTERESIS = SMOOTHING * 0.2;
const histories = new Map(); // client -> { state, person, guide, edge }: masks.MaskRefiner's memory

function smoothAndHysteresis(prob, client) {
  // MaskRefiner.smooth (change-gated moving average) then MaskRefiner._hysteresis, per client.
  let h = histories.get(client);
  if (!h || h.state.length !== prob.length) {
    h = { state: Float32Array.from(prob), person: null };
    histories.set(client, h);
  } else {
    const { state } = h;
    for (let i = 0; i < prob.length; i++) {
      const diff = prob[i] - state[i];
      state[i] += diff * Math.min(1, Math.abs(diff) * (SMOOTHING / GATE_WIDTH) + (1 - SMOOTHING));
    }
  }
  const mask = Float32Array.from(h.state);
  if (h.person) {
    for (let i = 0; i < mask.length; i++) {
      mask[i] = Math.min(1, Math.max(0, mask[i] + h.person[i] * 2 * HYSTERESIS - HYSTERESIS));
    }
  }
  h.person = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) h.person[i] = mask[i] >= THRESHOLD ? 1 : 0;
  return [mask, h];
}

function gated(state, next, width) {
  // masks.gated_average, in place on `state`.
  for (let i = 0; i < next.length; i++) {
    const diff = next[i] - state[i];
    state[i] += diff * Math.min(1, Math.abs(diff) * (SMOOTHING / width) + (1 - SMOOTHING));
  }
  return state;
}

function box3(x, w, h) {
  // cv2.boxFilter 3x3, normalised, BORDER_REFLECT (for a radius of 1 the same as replicating the edge).
  const out = new Float32Array(x.length);
  for (let y = 0; y < h; y++) {
    const ys = [Math.max(0, y - 1), y, Math.min(h - 1, y + 1)];
    for (let xx = 0; xx < w; xx++) {
      const x0 = Math.max(0, xx - 1);
      const x1 = Math.min(w - 1, xx + 1);
      let sum = 0;
      for (const yy of ys) sum += x[yy * w + x0] + x[yy * w + xx] + x[yy * w + x1];
      out[y * w + xx] = sum / 9;
    }
  }
  return out;
}

function refineEdges(rgb, width, height, refined, mw, mh, h) {
  // masks.refine_edges at the grid (EDGE_SCALE 1, radius 1, eps 1e-3, snap 0.03) with MaskRefiner.steady_guide,
  // then MaskRefiner.steady: a guided filter fitted against the frame in grey, noise-gated across frames.
  const mid = resizeHalfPixel(rgb, width, height, 3, mw, mh, new Uint8ClampedArray(mw * mh * 3));
  const grey = new Float32Array(mw * mh);
  for (let i = 0; i < grey.length; i++) {
    grey[i] = Math.round(0.299 * mid[i * 3] + 0.587 * mid[i * 3 + 1] + 0.114 * mid[i * 3 + 2]);
  }
  h.guide = h.guide && h.guide.length === grey.length ? gated(h.guide, grey, 0.1 * 255) : Float32Array.from(grey);
  const g = h.guide;
  const I = g.map((v) => v / 255);
  const meanI = box3(I, mw, mh);
  const meanP = box3(refined, mw, mh);
  const II = box3(I.map((v) => v * v), mw, mh);
  const IP = box3(I.map((v, i) => v * refined[i]), mw, mh);
  const a = new Float32Array(I.length);
  const b = new Float32Array(I.length);
  for (let i = 0; i < I.length; i++) {
    a[i] = (IP[i] - meanI[i] * meanP[i]) / (II[i] - meanI[i] * meanI[i] + 1e-3);
    b[i] = meanP[i] - a[i] * meanI[i];
  }
  const A = box3(a, mw, mh);
  const B = box3(b, mw, mh);
  const out = new Float32Array(I.length);
  for (let i = 0; i < I.length; i++) {
    const v = ((A[i] / 255) * g[i] + B[i] - 0.03) / (1 - 2 * 0.03);
    out[i] = Math.min(1, Math.max(0, v));
  }
  h.edge = h.edge && h.edge.length === out.length ? gated(h.edge, out, GATE_WIDTH) : Float32Array.from(out);
  return Float32Array.from(h.edge);
}

function resizeHalfPixel(src, w, h, channels, W, H, out = new Float32Array(W * H * channels)) {
  // Bilinear with half-pixel centres (cv2.resize INTER_LINEAR, masks.upsample); `out` may be a Uint8ClampedArray.
  // Each source row is resampled horizontally once (an upscale reads the same two rows for several output rows).
  const [x0s, x1s, wxs] = taps(w, W);
  const [y0s, y1s, wys] = taps(h, H);
  const n = W * channels;
  const rows = [new Float32Array(n), new Float32Array(n)];
  const rowOf = [-1, -1];
  const horizontal = (sy, keep) => { // source row sy, resampled; never evicts row `keep`
    const slot = rowOf[0] === sy ? 0 : rowOf[1] === sy ? 1 : -1;
    if (slot >= 0) return rows[slot];
    const use = rowOf[0] === keep ? 1 : 0;
    const row = rows[use];
    rowOf[use] = sy;
    const base = sy * w * channels;
    for (let x = 0; x < W; x++) {
      const p0 = base + x0s[x] * channels;
      const p1 = base + x1s[x] * channels;
      const wx = wxs[x];
      for (let c = 0; c < channels; c++) row[x * channels + c] = src[p0 + c] + (src[p1 + c] - src[p0 + c]) * wx;
    }
    return row;
  };
  for (let y = 0; y < H; y++) {
    const a = horizontal(y0s[y], y1s[y]);
    const b = horizontal(y1s[y], y0s[y]);
    const wy = wys[y];
    const o = y * n;
    for (let i = 0; i < n; i++) out[o + i] = a[i] + (b[i] - a[i]) * wy;
  }
  return out;
}

function halve(src, w, h) {
  // 2x2 average (bilinear at exactly 1/2), uint8 RGB: background._halve.
  const W = Math.max(1, w >> 1);
  const H = Math.max(1, h >> 1);
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        const i = ((2 * y) * w + 2 * x) * 3 + c;
        out[(y * W + x) * 3 + c] = (src[i] + src[i + 3] + src[i + w * 3] + src[i + w * 3 + 3] + 2) >> 2;
      }
    }
  }
  return [out, W, H];
}

function blurredBackground(rgb, width, height, refined, mw, mh) {
  // background.blurred_background: at 1/d resolution, a normalised tent blur with weight 1 - (grown mask).
  const radius = Math.max(1, Math.round(STRENGTH * Math.max(width, height) / 2000));
  let d = 1;
  while (d * 2 <= 8 && Math.floor(radius / (d * 2)) >= 4) d *= 2;
  let small = rgb; let w = width; let h = height;
  for (let t = d; t > 1; t >>= 1) [small, w, h] = halve(small, w, h);
  const r = Math.max(1, Math.round(radius / d));
  const m = resizeHalfPixel(refined, mw, mh, 1, w, h);
  const grown = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) { // 3x3 cross dilation
      let v = m[y * w + x];
      if (x > 0) v = Math.max(v, m[y * w + x - 1]);
      if (x < w - 1) v = Math.max(v, m[y * w + x + 1]);
      if (y > 0) v = Math.max(v, m[(y - 1) * w + x]);
      if (y < h - 1) v = Math.max(v, m[(y + 1) * w + x]);
      grown[y * w + x] = v;
    }
  }
  const four = new Float32Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const wt = 1 - grown[i];
    four[i * 4] = small[i * 3] * wt; four[i * 4 + 1] = small[i * 3 + 1] * wt; four[i * 4 + 2] = small[i * 3 + 2] * wt;
    four[i * 4 + 3] = wt;
  }
  const tent = new Float32Array(2 * r + 1);
  for (let i = 0; i <= 2 * r; i++) tent[i] = r + 1 - Math.abs(i - r);
  const total = tent.reduce((a, b) => a + b, 0);
  const blurred = separable(four, w, h, 4, tent.map((v) => v / total));
  const outSmall = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const den = blurred[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const v = den <= 1e-3 ? small[i * 3 + c] : blurred[i * 4 + c] / den;
      outSmall[i * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  if (d === 1) return Uint8ClampedArray.from(outSmall);
  return resizeHalfPixel(outSmall, w, h, 3, width, height, new Uint8ClampedArray(width * height * 3));
}

// ---------------------------------------------------------------------------------------- the pipeline

const sessions = {};
// --batch N with --models DIR (dynamic-batch copies of the bundled models, written by bench_server.py): frames
// wait up to --max-wait-ms for up to N-1 others, then ONE session call runs them all (bench/server_lib.py's
// MicroBatcher, in JS). POST /batch/<n> changes N.
const MODEL_DIR = arg('--models', MODELS);
let maxBatch = Number(arg('--batch', '1'));
const maxWaitMs = Number(arg('--max-wait-ms', '30'));
const batchSizes = [];

async function session(name) {
  if (!sessions[name]) {
    sessions[name] = await ort.InferenceSession.create(path.join(MODEL_DIR, `${name}.onnx`),
      { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  }
  return sessions[name];
}

const pending = {}; // model name -> { items: [{ input, resolve, reject }], timer }

function flush(name, mw, mh) {
  const queue = pending[name];
  const items = queue.items.splice(0, maxBatch);
  clearTimeout(queue.timer);
  queue.timer = queue.items.length ? setTimeout(() => flush(name, mw, mh), maxWaitMs) : null;
  batchSizes.push(items.length);
  const stacked = new Float32Array(items.length * mh * mw * 3);
  items.forEach((item, i) => stacked.set(item.input, i * mh * mw * 3));
  session(name).then((s) => s.run({ [s.inputNames[0]]: new ort.Tensor('float32', stacked, [items.length, mh, mw, 3]) })
    .then((out) => {
      const data = out[s.outputNames[0]].data;
      items.forEach((item, i) => item.resolve(data.subarray(i * mh * mw, (i + 1) * mh * mw)));
    })).catch((err) => items.forEach((item) => item.reject(err)));
}

async function predict(name, input, mw, mh) {
  if (maxBatch <= 1) {
    const s = await session(name);
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input, [1, mh, mw, 3]) });
    batchSizes.push(1);
    return out[s.outputNames[0]].data;
  }
  return new Promise((resolve, reject) => {
    const queue = pending[name] || (pending[name] = { items: [], timer: null });
    queue.items.push({ input, resolve, reject });
    if (queue.items.length >= maxBatch) flush(name, mw, mh);
    else if (!queue.timer) queue.timer = setTimeout(() => flush(name, mw, mh), maxWaitMs);
  });
}

async function compose(jpeg, timing = {}, client = '0') {
  const t0 = performance.now();
  const { data: rgb, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const t1 = performance.now();
  timing.decode = t1 - t0;
  const { width, height } = info;
  const landscape = width >= 1.5 * height; // segmenter.model_for_frame
  const [mw, mh] = landscape ? [256, 144] : [256, 256];
  const name = landscape ? 'selfie_landscape_fp32' : 'selfie_general_fp32';
  const prob = await predict(name, preprocess(rgb, width, height, mw, mh), mw, mh);
  const [smoothed, history] = smoothAndHysteresis(prob, `${client}:${width}x${height}`);
  const refined = softThreshold(smoothed, mw, mh);
  const edged = refineEdges(rgb, width, height, refined, mw, mh, history);
  // upsample then to_alpha (round, saturate): the upsample is linear, so it can run on the mask scaled by 255
  const alpha = resizeHalfPixel(edged.map((v) => v * 255), mw, mh, 1, width, height,
    new Uint8ClampedArray(width * height));
  const back = blurredBackground(rgb, width, height, refined, mw, mh);
  const out = Buffer.alloc(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 3) {
    const a = alpha[i];
    if (a === 0) { out[j] = back[j]; out[j + 1] = back[j + 1]; out[j + 2] = back[j + 2]; continue; }
    if (a === 255) { out[j] = rgb[j]; out[j + 1] = rgb[j + 1]; out[j + 2] = rgb[j + 2]; continue; }
    for (let c = 0; c < 3; c++) out[j + c] = Math.round((rgb[j + c] * a + back[j + c] * (255 - a)) / 255);
  }
  const t2 = performance.now();
  timing.process = t2 - t1;
  const encoded = await sharp(out, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: QUALITY, chromaSubsampling: '4:2:0' }).toBuffer();
  timing.encode = performance.now() - t2;
  return encoded;
}

// ---------------------------------------------------------------------------------------- the server

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    const total = batchSizes.reduce((a, b) => a + b, 0);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ batch_calls: batchSizes.length, mean_batch: batchSizes.length ? total / batchSizes.length : 1 }));
    return;
  }
  const batch = req.method === 'POST' && /^\/batch\/(\d+)$/.exec(req.url);
  if (batch) {
    maxBatch = Math.max(1, Number(batch[1]));
    batchSizes.length = 0;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ batch: maxBatch }));
    return;
  }
  if (req.method !== 'POST' || req.url !== '/compose') { res.writeHead(404); res.end(); return; }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const timing = {};
    compose(Buffer.concat(chunks), timing, req.headers['x-client'] || '0').then((jpeg) => {
      const header = Object.entries(timing).map(([k, v]) => `${k}=${v.toFixed(2)}`).join(';');
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length, 'x-timing': header });
      res.end(jpeg);
    }, (err) => { res.writeHead(500); res.end(String(err)); });
  });
});
server.keepAliveTimeout = 30000;
server.on('connection', (sock) => sock.setNoDelay(true));

const timeoutS = Number(arg('--timeout', '600'));
const parent = process.ppid;
const stop = () => { // finish the requests in flight, then go; never later than 10 s after
  setTimeout(() => process.exit(3), 10000).unref();
  server.close(() => process.exit(0));
  server.closeIdleConnections();
};
setInterval(() => { if (process.ppid !== parent) stop(); }, 500).unref();
process.on('SIGTERM', stop);

Promise.all([session('selfie_general_fp32'), session('selfie_landscape_fp32')]).then(() => {
  server.listen(0, '127.0.0.1', 511, () => {
    setTimeout(stop, timeoutS * 1000); // from the moment it listens, as the Python server's watchdog
    console.log(`PORT ${server.address().port}`);
  });
});
