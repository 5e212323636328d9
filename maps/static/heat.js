/* riskmap's exposure heatmap layer (used by maps/static/riskmap.js): the exposure surface in colour bands.
 *
 * The surface is a field (a value per 250 m cell, GET /exposure), not a density of points, so a pixel shows the
 * value of the cell under it, never a sum of overlapping points: each cell (or, zoomed out, each square of the
 * grid the server grouped the cells on, with its hottest cell's value) is filled as a square whose grey level
 * encodes its band and its place within the band; the grey image is softened by a blur of a quarter of a square
 * that only spills into colder neighbours (the larger of the blurred and the sharp image: the bands meet in smooth
 * contours, and no square is drawn colder than its own value), then turned into the band colours in one pass over
 * the pixels.
 *
 * The bands come from a scale of the whole surface (GET /exposure/scale: its quantiles), set once, so a colour
 * means the same value wherever the map is panned or zoomed; a ramp scaled to the largest value in view would
 * paint any quiet area hot and, over the whole region, leave nearly every cell in the coldest colour.
 *
 * Grey levels: band b (0 = coldest) at 50 b + 20 ... 50 b + 48, so that floor(grey / 50) is the band; at the
 * edge of the surface the blur falls to 0 through the lower bands, and the coldest band fades out there.
 */
(function () {
  "use strict";

  var STEP = 50, BASE = 20, LEVELS = 8;  // grey = STEP * band + BASE + 4 * level, level in [0, LEVELS)

  // the band of a value (0 ... breaks.length): how many breaks it reaches
  function bandOf(value, breaks) {
    var b = 0;
    while (b < breaks.length && value >= breaks[b]) b += 1;
    return b;
  }

  // the grey level that encodes a value: its band, and where in the band it lies (the larger wins in a tie)
  function greyOf(value, breaks) {
    var b = bandOf(value, breaks);
    var lo = b === 0 ? 0 : breaks[b - 1];
    var hi = b < breaks.length ? breaks[b] : 2 * breaks[breaks.length - 1];
    var level = Math.floor(LEVELS * (value - lo) / Math.max(hi - lo, 1e-9));
    return STEP * b + BASE + 4 * Math.max(0, Math.min(LEVELS - 1, level));
  }

  function parseColour(hex) {
    return [1, 3, 5].map(function (i) { return parseInt(hex.slice(i, i + 2), 16); });
  }

  var ExposureHeat = L.Layer.extend({
    options: {
      colours: ["#3288bd", "#99d594", "#fee08b", "#fc8d59", "#d53e4f"],  // coldest to hottest band
      opacities: [0.55, 0.62, 0.7, 0.8, 0.88]
    },

    initialize: function (options) {
      L.setOptions(this, options);
      this._points = [];  // [lon, lat, value]
      this._spacing = null;  // {grid_deg} or {cell_m}: how far apart the points are
      this._breaks = null;
      this._palette = new Uint8ClampedArray(256 * 4);
      this._buildPalette();
    },

    // the band breaks (ascending exposure values, one fewer than the colours): the scale of the whole surface
    setBreaks: function (breaks) {
      this._breaks = breaks;
      return this.redraw();
    },

    // points [lon, lat, value] and how far apart they are: grid_deg > 0 when the server grouped them on a grid of
    // that many degrees, else cells of cell_m metres
    setData: function (points, gridDeg, cellM) {
      this._points = points;
      this._spacing = {grid_deg: gridDeg || 0, cell_m: cellM || 250};
      return this.redraw();
    },

    // the band a value is drawn in (0 = coldest), or -1 without a scale
    band: function (value) { return this._breaks ? bandOf(value, this._breaks) : -1; },

    redraw: function () {
      if (this._map) this._draw();
      return this;
    },

    onAdd: function (map) {
      this._canvas = L.DomUtil.create("canvas", "riskmap-heat leaflet-layer");
      var animated = map.options.zoomAnimation && L.Browser.any3d;
      L.DomUtil.addClass(this._canvas, "leaflet-zoom-" + (animated ? "animated" : "hide"));
      this.getPane().appendChild(this._canvas);
      map.on("moveend", this._reset, this);
      if (animated) map.on("zoomanim", this._animateZoom, this);
      this._reset();
    },

    onRemove: function (map) {
      L.DomUtil.remove(this._canvas);
      map.off("moveend", this._reset, this);
      map.off("zoomanim", this._animateZoom, this);
    },

    _buildPalette: function () {
      var colours = this.options.colours.map(parseColour), opacities = this.options.opacities;
      for (var grey = 1; grey < 256; grey++) {
        var band = Math.min(colours.length - 1, Math.floor(grey / STEP));
        // the coldest band fades out at the rims, so that the surface has no hard outer edge
        var alpha = opacities[band] * (band === 0 ? Math.min(1, grey / BASE) : 1);
        this._palette.set(colours[band].concat([Math.round(255 * alpha)]), 4 * grey);
      }
    },

    _reset: function () {
      var size = this._map.getSize();
      L.DomUtil.setPosition(this._canvas, this._map.containerPointToLayerPoint([0, 0]));
      if (this._canvas.width !== size.x) this._canvas.width = size.x;
      if (this._canvas.height !== size.y) this._canvas.height = size.y;
      this._draw();
    },

    _animateZoom: function (e) {
      var scale = this._map.getZoomScale(e.zoom);
      var offset = this._map._latLngToNewLayerPoint(this._map.containerPointToLatLng([0, 0]), e.zoom, e.center);
      L.DomUtil.setTransform(this._canvas, offset, scale);
    },

    // the square a point stands for, as [south, west, north, east]: its grid square when the server grouped the
    // cells, else its cell (cell_m wide, centred on the point)
    _square: function (pt) {
      var s = this._spacing, g = s.grid_deg;
      if (g > 0) {
        var x = Math.floor(pt[0] / g) * g, y = Math.floor(pt[1] / g) * g;
        return [y, x, y + g, x + g];
      }
      var dLat = s.cell_m / 2 / 111320, dLon = dLat / Math.cos(pt[1] * Math.PI / 180);
      return [pt[1] - dLat, pt[0] - dLon, pt[1] + dLat, pt[0] + dLon];
    },

    _draw: function () {
      var canvas = this._canvas, w = canvas.width, h = canvas.height;
      var ctx = canvas.getContext("2d", {willReadFrequently: true});
      ctx.clearRect(0, 0, w, h);
      if (!this._breaks || !this._points.length || !w || !h) return;
      // the grey image, on a canvas of its own (then blurred onto the layer's)
      var grey = this._grey || (this._grey = document.createElement("canvas"));
      grey.width = w;
      grey.height = h;
      var gctx = grey.getContext("2d");
      gctx.fillStyle = "#000";
      gctx.fillRect(0, 0, w, h);
      gctx.globalCompositeOperation = "lighten";  // two points in one square: the larger wins
      var map = this._map, breaks = this._breaks, side = 0, n = 0;
      for (var i = 0; i < this._points.length; i++) {
        var pt = this._points[i], sq = this._square(pt);
        var a = map.latLngToContainerPoint([sq[2], sq[1]]), b = map.latLngToContainerPoint([sq[0], sq[3]]);
        if (b.x < -8 || b.y < -8 || a.x > w + 8 || a.y > h + 8) continue;
        var x0 = Math.round(a.x), y0 = Math.round(a.y), x1 = Math.max(x0 + 1, Math.round(b.x));
        var y1 = Math.max(y0 + 1, Math.round(b.y)), v = greyOf(pt[2], breaks);
        gctx.fillStyle = "rgb(" + v + "," + v + "," + v + ")";
        gctx.fillRect(x0, y0, x1 - x0, y1 - y0);
        side += b.x - a.x;
        n += 1;
      }
      if (!n) return;
      // the blurred image, then the sharp one over it keeping the larger: the blur only spills into colder
      // neighbours, so every square is drawn at least in its own band (never demoted by a colder neighbour)
      var blur = Math.min(8, 0.25 * side / n);
      if (blur >= 0.5) {
        ctx.filter = "blur(" + blur.toFixed(1) + "px)";
        ctx.drawImage(grey, 0, 0);
        ctx.filter = "none";
        ctx.globalCompositeOperation = "lighten";
      }
      ctx.drawImage(grey, 0, 0);
      ctx.globalCompositeOperation = "source-over";
      var image = ctx.getImageData(0, 0, w, h), px = image.data, palette = this._palette;
      for (var j = 0; j < px.length; j += 4) {
        var k = 4 * px[j];
        px[j] = palette[k];
        px[j + 1] = palette[k + 1];
        px[j + 2] = palette[k + 2];
        px[j + 3] = palette[k + 3];
      }
      ctx.putImageData(image, 0, 0);
    }
  });

  window.riskmapHeat = {
    ExposureHeat: ExposureHeat,
    bandOf: bandOf,
    layer: function (options) { return new ExposureHeat(options); }
  };
})();
