/* The basemap under riskmap's layers (maps/basemaps.py chooses it; the pages pass its settings here).
 *
 * AMap's tiles (and most Chinese web maps') are drawn in GCJ-02, which lies 100–700 m from WGS 84, where
 * riskmap keeps its data.  For such a basemap each tile is moved by the GCJ-02 offset at its centre, so that its
 * streets sit under the WGS-84 features (the offset changes by less than a metre across a tile at street zoom),
 * and the layer asks for a margin of tiles around the view as wide as the offset, so that none is missing at
 * the edges.
 */
(function () {
  "use strict";

  // Krasovsky 1940, the ellipsoid of the GCJ-02 formula
  var A = 6378245.0, EE = 0.00669342162296594323;

  // GCJ-02 minus WGS-84 at a WGS-84 point, in degrees: the public formula, as geo/crs.py _gcj02_offset computes
  // it (tests/maps compares the two); zero outside China's bounding box.
  function gcj02Offset(lon, lat) {
    if (lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271) return [0, 0];
    var x = lon - 105.0, y = lat - 35.0, PI = Math.PI;
    var common = (20 * Math.sin(6 * PI * x) + 20 * Math.sin(2 * PI * x)) * 2 / 3;
    var r = Math.sqrt(Math.abs(x));
    var dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * r + common +
      (20 * Math.sin(PI * y) + 40 * Math.sin(PI * y / 3)) * 2 / 3 +
      (160 * Math.sin(PI * y / 12) + 320 * Math.sin(PI * y / 30)) * 2 / 3;
    var dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * r + common +
      (20 * Math.sin(PI * x) + 40 * Math.sin(PI * x / 3)) * 2 / 3 +
      (150 * Math.sin(PI * x / 12) + 300 * Math.sin(PI * x / 30)) * 2 / 3;
    var rad = lat * PI / 180, w2 = 1 - EE * Math.sin(rad) * Math.sin(rad), w = Math.sqrt(w2);
    var meridian = A * (1 - EE) / (w2 * w), parallel = A / w * Math.cos(rad);
    return [dLon / parallel * 180 / PI, dLat / meridian * 180 / PI];
  }

  var ShiftedTileLayer = L.TileLayer.extend({
    // where the content of a GCJ-02 point belongs in WGS 84: w + offset(w) = g, solved by two fixed-point steps
    _toWgs: function (g) {
      var w = g;
      for (var i = 0; i < 3; i++) {
        var o = gcj02Offset(w.lng, w.lat);
        w = L.latLng(g.lat - o[1], g.lng - o[0]);
      }
      return w;
    },
    _shift: function (coords) {
      var map = this._map, size = this.getTileSize(), z = coords.z;
      var centre = coords.scaleBy(size).add(size.divideBy(2));
      var gcj = map.unproject(centre, z);
      return map.project(this._toWgs(gcj), z).subtract(centre);
    },
    _getTilePos: function (coords) {
      return L.TileLayer.prototype._getTilePos.call(this, coords).add(this._shift(coords).round());
    },
    _getTiledPixelBounds: function (center) {
      var bounds = L.TileLayer.prototype._getTiledPixelBounds.call(this, center);
      var o = gcj02Offset(center.lng, center.lat), z = this._tileZoom, map = this._map;
      var pad = map.project(L.latLng(center.lat + o[1], center.lng + o[0]), z).subtract(map.project(center, z));
      var margin = L.point(Math.abs(pad.x) + 1, Math.abs(pad.y) + 1);
      return L.bounds(bounds.min.subtract(margin), bounds.max.add(margin));
    }
  });

  // the basemap described by cfg ({url, attribution, subdomains, max_zoom, gcj02}) on the map; null: none
  function addBasemap(map, cfg) {
    if (!cfg || !cfg.url) return null;
    var options = {attribution: cfg.attribution || "", subdomains: cfg.subdomains || "abc",
                   maxZoom: cfg.max_zoom || 18, maxNativeZoom: cfg.max_zoom || 18};
    var layer = cfg.gcj02 ? new ShiftedTileLayer(cfg.url, options) : L.tileLayer(cfg.url, options);
    return layer.addTo(map).bringToBack();
  }

  window.riskmapBasemap = {add: addBasemap, gcj02Offset: gcj02Offset, ShiftedTileLayer: ShiftedTileLayer};
})();
