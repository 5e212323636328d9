/* riskmap's main map: the risk layers, legend and panels on a Leaflet map built by folium (maps/main_map.py).
 *
 * Every layer is loaded from the API for the visible box and zoom, never inlined in the page:
 *   - four-colour zoning: counties (GET /areas?level=county) up to cfg.county_max_zoom, then H3 cells
 *     (GET /areas?level=h3:N), N growing with the zoom; county outlines on top at every zoom, so that the map
 *     reads without a basemap;
 *   - the exposure heatmap (GET /exposure), thinned by the server to a bounded number of points;
 *   - one layer per feature class (GET /features?kind=), clustered, from cfg.feature_min_zoom: venues with
 *     their type's glyph, tailings ponds with their downstream sector, pipelines by segment
 *     (GET /pipeline-segments), each stretch in its own level's colour (further out, from the H3 zooms, whole
 *     pipelines in their worst segment's colour);
 *   - clicking the map, or the coordinate box, asks GET /risks/near and lists the answer in the side panel.
 * Labels are Chinese by default, English on the switch.
 */
(function () {
  "use strict";

  var TEXT = {
    zh: {legend: "风险等级", zoning: "四色分区", boundaries: "行政边界", heat: "暴露热力图", near: "附近风险", go: "查询",
         lon: "经度", lat: "纬度", none: "附近没有风险点", score: "得分", level: "等级", details: "详情",
         distance: "距离", factors: "主要因素", synthetic: "演示数据（合成），非真实企业",
         counts: "各等级数量", features: "风险点", loading: "加载中…", error: "加载失败", lang: "EN",
         unscored: "未评分", worst: "最高等级", segment: "管段", exposure: "暴露值", area: "所在区域", clickhint: "点击地图查询附近风险",
         plan: "检查计划", team: "检查组", day: "第{}天", base: "驻地", schedule: "日程表"},
    en: {legend: "Risk level", zoning: "Four-colour zoning", boundaries: "Admin boundaries", heat: "Exposure heatmap", near: "Risks near here",
         go: "Go", lon: "Lon", lat: "Lat", none: "No risks nearby", score: "Score", level: "Level",
         details: "Details", distance: "Distance", factors: "Top factors",
         synthetic: "Synthetic demo data, not real enterprises", counts: "Count per level", features: "Features",
         loading: "Loading…", error: "Could not load", lang: "中文", unscored: "unscored", worst: "Worst level",
         segment: "segment",
         exposure: "Exposure", area: "Area", clickhint: "Click the map for the risks nearby",
         plan: "Inspection plan", team: "Team", day: "Day {}", base: "Base", schedule: "Schedule"}
  };
  var PAGES = 10; // at most this many pages of one layer for one view

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function RiskMap(map, cfg) {
    this.map = map;
    this.cfg = cfg;
    this.lang = cfg.language === "en" ? "en" : "zh";
    this.colour = {};
    this.label = {};
    var self = this;
    cfg.levels.forEach(function (lv) { self.colour[lv.name] = lv.colour; self.label[lv.name] = lv; });
    this.generation = 0; // a newer view cancels the answers of older ones
    this.build();
    this.refresh();
    map.on("moveend", function () { self.refresh(); });
    map.on("click", function (e) { self.near(e.latlng.lng, e.latlng.lat); });
  }

  RiskMap.prototype.t = function (key) { return TEXT[this.lang][key]; };

  // the worst of some levels (cfg.levels is worst first); undefined when none is scored
  RiskMap.prototype.worstLevel = function (levels) {
    var order = this.cfg.levels.map(function (lv) { return lv.name; });
    var present = levels.filter(function (lv) { return order.indexOf(lv) >= 0; });
    present.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
    return present[0];
  };

  RiskMap.prototype.levelName = function (level) {
    return level ? this.label[level][this.lang] : this.t("unscored");
  };

  RiskMap.prototype.build = function () {
    var self = this, map = this.map;
    // zoom limits on the map itself (clusters need them, and there may be no tile layer to carry them)
    map.setMinZoom(this.cfg.min_zoom);
    map.setMaxZoom(this.cfg.max_zoom);
    this.zoning = L.geoJSON(null, {
      style: function (f) {
        return {color: "#555", weight: 0.6, fillColor: self.colour[f.properties.level] || "#999", fillOpacity: 0.45};
      },
      onEachFeature: function (f, layer) {
        layer.on("click", function (e) {
          L.DomEvent.stopPropagation(e);
          layer.bindPopup(self.areaPopup(f.properties)).openPopup(e.latlng);
        });
      }
    }).addTo(map);
    // county outlines over everything, so that the map reads without a basemap (closed networks)
    this.outlines = L.geoJSON(null, {
      interactive: false, style: function () { return {fill: false, color: "#333", weight: 1.3, opacity: 0.8}; }
    }).addTo(map);
    this.heat = L.heatLayer([], {radius: 18, blur: 22, minOpacity: 0.25, maxZoom: 14});
    this.kinds = {};
    this.sectors = L.featureGroup().addTo(map);  // the ponds' downstream sectors, shown with the ponds
    map.on("overlayremove", function (e) { if (e.layer === self.kinds.tailings_pond) map.removeLayer(self.sectors); });
    map.on("overlayadd", function (e) { if (e.layer === self.kinds.tailings_pond) self.sectors.addTo(map); });
    this.cfg.kinds.forEach(function (k) {
      // a cluster shows how many features it holds, in the colour of the worst level among them (the default
      // colours by count would read as risk levels)
      var group = k.name === "pipeline" ? L.featureGroup() : L.markerClusterGroup({
        disableClusteringAtZoom: 17,
        iconCreateFunction: function (cluster) {
          var worst = self.worstLevel(cluster.getAllChildMarkers().map(function (m) { return m.options.level; }));
          return L.divIcon({className: "riskmap-cluster", iconSize: [30, 30],
                            html: '<div data-level="' + (worst || "") + '" style="background:' +
                                  (self.colour[worst] || "#999") + '">' + cluster.getChildCount() + "</div>"});
        }
      });
      self.kinds[k.name] = group.addTo(map);
    });
    this.switcher = L.control.layers(null, null, {collapsed: false}).addTo(map);
    this.plan = null;  // an inspection plan's routes and numbered stops (?plan=ID), one colour a team
    if (this.cfg.plan) this.loadPlan(this.cfg.plan);
    this.legend = L.control({position: "bottomright"});
    this.legend.onAdd = function () {
      self.legendDiv = L.DomUtil.create("div", "riskmap-legend");
      return self.legendDiv;
    };
    this.legend.addTo(map);
    this.panel = L.control({position: "topright"});
    this.panel.onAdd = function () {
      var div = L.DomUtil.create("div", "riskmap-panel");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      self.panelDiv = div;
      return div;
    };
    this.panel.addTo(map);
    if (this.cfg.synthetic) {
      var banner = L.control({position: "topleft"});
      banner.onAdd = function () { self.bannerDiv = L.DomUtil.create("div", "riskmap-synthetic"); return self.bannerDiv; };
      banner.addTo(map);
    }
    this.labels();
  };

  // (re)writes every label in the current language
  RiskMap.prototype.labels = function () {
    var self = this;
    document.documentElement.lang = this.lang === "zh" ? "zh-CN" : "en";
    var rows = this.cfg.levels.map(function (lv) {
      return '<div class="riskmap-legend-row" data-level="' + lv.name + '"><i style="background:' + lv.colour +
        '"></i>' + esc(lv[self.lang]) + "</div>";
    });
    this.legendDiv.innerHTML = "<b>" + esc(this.t("legend")) + "</b>" + rows.join("");
    if (this.bannerDiv) this.bannerDiv.textContent = this.t("synthetic");
    // the layer switcher: remove and add again with the labels of this language
    [this.zoning, this.outlines, this.heat].concat(Object.values(this.kinds)).forEach(function (l) {
      self.switcher.removeLayer(l);
    });
    if (this.plan) this.switcher.removeLayer(this.plan);
    this.switcher.addOverlay(this.zoning, this.t("zoning"));
    this.switcher.addOverlay(this.outlines, this.t("boundaries"));
    this.switcher.addOverlay(this.heat, this.t("heat"));
    this.cfg.kinds.forEach(function (k) { self.switcher.addOverlay(self.kinds[k.name], k[self.lang]); });
    if (this.plan) this.switcher.addOverlay(this.plan, this.t("plan") + " " + this.cfg.plan);
    var lastLon = this.lastNear ? this.lastNear[0].toFixed(5) : "";
    var lastLat = this.lastNear ? this.lastNear[1].toFixed(5) : "";
    this.panelDiv.innerHTML =
      '<div class="riskmap-panel-head"><b>' + esc(this.t("near")) + '</b>' +
      '<button type="button" class="riskmap-lang">' + esc(this.t("lang")) + "</button></div>" +
      '<form class="riskmap-coords">' + esc(this.t("lon")) + ' <input name="lon" size="9" value="' + lastLon +
      '"> ' + esc(this.t("lat")) + ' <input name="lat" size="8" value="' + lastLat + '"> <button type="submit">' +
      esc(this.t("go")) + "</button></form>" +
      '<div class="riskmap-near">' + esc(this.t("clickhint")) + "</div>";
    this.panelDiv.querySelector(".riskmap-lang").onclick = function () {
      self.lang = self.lang === "zh" ? "en" : "zh";
      self.labels();
    };
    this.panelDiv.querySelector(".riskmap-coords").onsubmit = function (e) {
      e.preventDefault();
      var lon = parseFloat(this.lon.value), lat = parseFloat(this.lat.value);
      if (isFinite(lon) && isFinite(lat)) {
        self.map.panTo([lat, lon]);
        self.near(lon, lat);
      }
    };
    if (this.lastNearAnswer) this.showNear(this.lastNearAnswer);
  };

  RiskMap.prototype.teamColour = function (team) {
    var c = this.cfg.team_colours;
    return c[(team - 1) % c.length];
  };

  // an inspection plan (GET /plans/{id}?format=geojson): a line per team and day from the base through the stops
  // and back, a numbered marker per stop in the team's colour ringed in the site's level, the bases
  RiskMap.prototype.loadPlan = function (id) {
    var self = this, container = this.map.getContainer();
    this.plan = L.featureGroup().addTo(this.map);
    container.dataset.plan = "loading";
    fetch(this.url("/plans/" + encodeURIComponent(id), {format: "geojson"})).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (gj) {
      var stops = 0;
      gj.features.forEach(function (f) {
        var p = f.properties, colour = self.teamColour(p.team), c = f.geometry.coordinates;
        if (p.role === "route") {
          L.polyline(c.map(function (xy) { return [xy[1], xy[0]]; }),
                     {color: colour, weight: 3, opacity: 0.85, dashArray: p.day === 1 ? null : (2 + 2 * p.day) + ",4"})
            .bindTooltip(esc(self.t("team")) + " " + p.team + " · " + esc(self.t("day").replace("{}", p.day)) +
                         " · " + Math.round(p.km) + " km").addTo(self.plan);
        } else if (p.role === "stop") {
          stops += 1;
          L.marker([c[1], c[0]], {icon: L.divIcon({
            className: "", iconSize: [20, 20], iconAnchor: [10, 10],
            html: '<div class="riskmap-plan-stop" data-team="' + p.team + '" data-day="' + p.day + '" style="background:' +
                  colour + ";border-color:" + (self.colour[p.level] || "#333") + '">' + p.seq + "</div>"})})
            .bindTooltip(esc(p.name) + "<br>" + esc(self.t("team")) + " " + p.team + " · " +
                         esc(self.t("day").replace("{}", p.day)) + " · #" + p.seq + " · " + esc(p.arrival) + "–" +
                         esc(p.departure))
            .bindPopup(function () { return self.featurePopup({kind: p.kind, id: p.feature_id, name: p.name,
                                                                level: p.level, score: p.score}, null); })
            .addTo(self.plan);
        } else if (p.role === "base") {
          L.marker([c[1], c[0]], {icon: L.divIcon({
            className: "", iconSize: [22, 22], iconAnchor: [11, 11],
            html: '<div class="riskmap-plan-base" style="border-color:' + colour + '">⌂</div>'})})
            .bindTooltip(esc(self.t("base")) + " · " + esc(self.t("team")) + " " + p.team).addTo(self.plan);
        }
      });
      if (self.plan.getLayers().length) self.map.fitBounds(self.plan.getBounds(), {padding: [20, 20]});
      container.dataset.plan = String(stops);
      self.labels();
    }).catch(function (err) {
      container.dataset.plan = "error";
      console.warn("riskmap: plan " + id + ": " + err.message);
    });
  };

  RiskMap.prototype.url = function (path, params) {
    var q = Object.keys(params).map(function (k) { return k + "=" + encodeURIComponent(params[k]); }).join("&");
    return this.cfg.api + path + (q ? "?" + q : "");
  };

  RiskMap.prototype.bbox = function () {
    var b = this.map.getBounds();
    var w = Math.max(-180, b.getWest()), s = Math.max(-90, b.getSouth());
    var e = Math.min(180, b.getEast()), n = Math.min(90, b.getNorth());
    return [w, s, e, n].map(function (v) { return v.toFixed(5); }).join(",");
  };

  // every page of a paged GeoJSON answer (following `next` links), as one list of features
  RiskMap.prototype.pages = function (url, generation) {
    var self = this, features = [];
    function get(u, left) {
      return fetch(u).then(function (r) {
        if (!r.ok) throw new Error(u + ": HTTP " + r.status);
        return r.json();
      }).then(function (page) {
        features = features.concat(page.features);
        var next = (page.links || []).filter(function (l) { return l.rel === "next"; })[0];
        if (next && left > 1 && generation === self.generation) return get(next.href, left - 1);
        return features;
      });
    }
    return get(url, PAGES);
  };

  RiskMap.prototype.zoningLevel = function () {
    var z = this.map.getZoom(), res = this.cfg.h3_resolutions;
    if (z <= this.cfg.county_max_zoom) return "county";
    var r = Math.min(Math.max(z - 3, Math.min.apply(null, res)), Math.max.apply(null, res));
    return "h3:" + r;
  };

  RiskMap.prototype.refresh = function () {
    var self = this, generation = ++this.generation, bbox = this.bbox(), level = this.zoningLevel();
    this.map.getContainer().dataset.zoning = level;
    this.pending = 0;
    function track(promise, what) {
      self.pending += 1;
      self.map.getContainer().dataset.loading = self.pending;
      return promise.catch(function (err) {
        console.warn("riskmap: " + what + ": " + err.message);
      }).then(function () {
        if (generation !== self.generation) return;
        self.pending -= 1;
        self.map.getContainer().dataset.loading = self.pending;
        if (self.pending === 0) self.map.getContainer().dataset.idle = String(generation);
      });
    }
    var counties = this.pages(this.url("/areas", {level: "county", bbox: bbox, limit: 2000}), generation);
    track(counties.then(function (fs) {
      if (generation !== self.generation) return;
      self.outlines.clearLayers();
      self.outlines.addData(fs);
    }), "boundaries");
    var zoning = level === "county" ? counties : this.pages(this.url("/areas", {level: level, bbox: bbox, limit: 2000}),
                                                            generation);
    track(zoning.then(function (fs) {
      if (generation !== self.generation) return;
      self.zoning.clearLayers();
      self.zoning.addData(fs);
      self.zoning.bringToBack();
    }), "zoning");
    track(fetch(this.url("/exposure", {bbox: bbox, max_points: 5000})).then(function (r) {
      if (!r.ok) throw new Error("/exposure: HTTP " + r.status);
      return r.json();
    }).then(function (ex) {
      if (generation !== self.generation) return;
      var max = ex.max || 1;
      self.heat.setOptions({max: max});
      self.heat.setLatLngs(ex.points.map(function (p) { return [p[1], p[0], p[2]]; }));
    }), "exposure");
    var close = this.map.getZoom() >= this.cfg.feature_min_zoom;
    var middle = !close && this.map.getZoom() > this.cfg.county_max_zoom;
    this.cfg.kinds.forEach(function (k) {
      var group = self.kinds[k.name];
      // pipelines: whole, in their worst segment's colour, from the H3 zooms; by segment close up
      var wholePipelines = middle && k.name === "pipeline";
      if (!close && !wholePipelines) { group.clearLayers(); return; }
      // pipelines by segment (each stretch in its own level's colour), the other classes as features
      var source = k.name === "pipeline" && close ? self.url("/pipeline-segments", {bbox: bbox, limit: 1000})
                                                  : self.url("/features", {kind: k.name, bbox: bbox, limit: 1000});
      track(self.pages(source, generation).then(function (fs) {
        if (generation !== self.generation) return;
        group.clearLayers();
        if (k.name === "tailings_pond") self.sectors.clearLayers();
        fs.forEach(function (f) {
          if (k.name === "pipeline" && close) f.properties.kind = "pipeline_segment";
          group.addLayer(self.featureLayer(f));
          if (k.name === "tailings_pond" && f.properties.downstream_direction_deg !== null &&
              f.properties.downstream_direction_deg !== undefined) {
            self.sectors.addLayer(self.pondSector(f));
          }
        });
      }), k.name);
    });
    if (!close) this.sectors.clearLayers();
  };

  // the sector downstream of a pond in which the overhead-pond test looks for people (drawn, not exact: a
  // spherical approximation is plenty at map scale)
  RiskMap.prototype.pondSector = function (f) {
    var p = f.properties, g = f.geometry, c = g.type === "Point" ? g.coordinates : L.geoJSON(f).getBounds().getCenter();
    var lon = Array.isArray(c) ? c[0] : c.lng, lat = Array.isArray(c) ? c[1] : c.lat;
    var r = this.cfg.pond_sector.radius_m, half = this.cfg.pond_sector.half_angle_deg, pts = [[lat, lon]];
    for (var a = -half; a <= half + 1e-9; a += half / 8) {
      var az = (p.downstream_direction_deg + a) * Math.PI / 180;
      pts.push([lat + (r * Math.cos(az)) / 111320,
                lon + (r * Math.sin(az)) / (111320 * Math.cos(lat * Math.PI / 180))]);
    }
    var colour = this.colour[p.level] || "#888";
    return L.polygon(pts, {color: colour, weight: 1, dashArray: "4 3", fillColor: colour, fillOpacity: 0.15,
                           interactive: false, className: "riskmap-pond-sector"});
  };

  RiskMap.prototype.featureLayer = function (f) {
    var self = this, p = f.properties, colour = this.colour[p.level] || "#888";
    var layer = L.geoJSON(f, {
      pointToLayer: function (feat, latlng) {
        var glyph = p.venue_type && self.cfg.venue_glyphs[p.venue_type];
        if (glyph) {  // a venue: its type's glyph on its level's colour
          return L.marker(latlng, {level: p.level, icon: L.divIcon({
            className: "riskmap-venue", iconSize: [18, 18],
            html: '<span data-type="' + esc(p.venue_type) + '" title="' + esc(glyph.en) + '" style="background:' +
                  colour + '">' + esc(glyph.glyph) + "</span>"})});
        }
        return L.circleMarker(latlng, {level: p.level, radius: 6, color: "#333", weight: 1, fillColor: colour,
                                       fillOpacity: 0.9});
      },
      style: function () { return {color: colour, weight: 4, fillColor: colour, fillOpacity: 0.35}; }
    });
    layer.bindPopup(function () { return self.featurePopup(p, null); });
    layer.on("popupopen", function (e) {
      if (p.kind === "pipeline_segment") return;  // a segment's popup says all it has; its pipeline has the page
      fetch(self.url("/features/" + p.kind + "/" + p.id, {})).then(function (r) { return r.json(); })
        .then(function (detail) { e.popup.setContent(self.featurePopup(p, detail.properties.factors)); })
        .catch(function () {});
    });
    return layer;
  };

  RiskMap.prototype.factorList = function (factors) {
    return "<ol class=\"riskmap-factors\">" + factors.slice(0, 3).map(function (x) {
      return "<li>" + esc(x.title || x.factor) + ": " + esc(x.points) + "</li>";
    }).join("") + "</ol>";
  };

  RiskMap.prototype.featurePopup = function (p, factors) {
    var segment = p.kind === "pipeline_segment";
    var kind = segment ? "pipeline" : p.kind, id = segment ? p.pipeline_id : p.id;
    return "<div class=\"riskmap-popup\"><b>" + esc(p.name) + "</b>" +
      (segment ? " <small>" + esc(this.t("segment")) + " " + esc(p.seq) + "</small>" : "") + "<br>" +
      esc(this.t("score")) + " " + esc(p.score) + " · " + esc(this.t("level")) + " " + esc(this.levelName(p.level)) +
      (factors ? "<br>" + esc(this.t("factors")) + this.factorList(factors) : (segment ? "" : "<br>…")) +
      "<br><a href=\"" + this.cfg.api + "/features/" + kind + "/" + id + "\" target=\"_blank\">" +
      esc(this.t("details")) + "</a></div>";
  };

  RiskMap.prototype.areaPopup = function (p) {
    var self = this, totals = {};
    Object.values(p.counts || {}).forEach(function (byLevel) {
      Object.keys(byLevel).forEach(function (lv) { totals[lv] = (totals[lv] || 0) + byLevel[lv]; });
    });
    var rows = this.cfg.levels.map(function (lv) {
      return "<tr data-level=\"" + lv.name + "\"><td><i style=\"background:" + lv.colour + "\"></i>" + esc(lv[self.lang]) +
        "</td><td>" + (totals[lv.name] || 0) + "</td></tr>";
    });
    return "<div class=\"riskmap-popup riskmap-area\"><b>" + esc(p.name || p.area_id) + "</b><br>" +
      esc(this.t("level")) + " " + esc(this.levelName(p.level)) + " · " + esc(this.t("score")) + " " + esc(p.score) +
      "<table><caption>" + esc(this.t("counts")) + "</caption>" + rows.join("") + "</table></div>";
  };

  RiskMap.prototype.near = function (lon, lat) {
    var self = this;
    this.lastNear = [lon, lat];
    var box = this.panelDiv.querySelector(".riskmap-coords");
    box.lon.value = lon.toFixed(5);
    box.lat.value = lat.toFixed(5);
    var list = this.panelDiv.querySelector(".riskmap-near");
    list.textContent = this.t("loading");
    fetch(this.url("/risks/near", {lon: lon.toFixed(6), lat: lat.toFixed(6), radius_m: 2000, limit: 20}))
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (answer) { self.lastNearAnswer = answer; self.showNear(answer); })
      .catch(function (err) { list.textContent = self.t("error") + ": " + err.message; });
  };

  RiskMap.prototype.showNear = function (answer) {
    var self = this, list = this.panelDiv.querySelector(".riskmap-near"), s = answer.summary;
    var head = "<div class=\"riskmap-near-summary\">" + esc(this.t("worst")) + ": " + esc(this.levelName(s.worst_level)) +
      (s.admin_area ? " · " + esc(this.t("area")) + ": " + esc(s.admin_area.name) : "") +
      " · " + esc(this.t("exposure")) + ": " + esc(s.exposure) + "</div>";
    if (!answer.features.length) {
      list.innerHTML = head + "<p>" + esc(this.t("none")) + "</p>";
      return;
    }
    list.innerHTML = head + "<ol class=\"riskmap-near-list\">" + answer.features.map(function (f) {
      var p = f.properties;
      return "<li data-kind=\"" + p.kind + "\" data-id=\"" + p.id + "\" data-level=\"" + (p.level || "") + "\">" +
        "<i style=\"background:" + (self.colour[p.level] || "#888") + "\"></i>" + esc(p.name) +
        " <small>" + Math.round(p.distance_m) + " m · " + esc(self.levelName(p.level)) + " " + esc(p.score) +
        "</small></li>";
    }).join("") + "</ol>";
  };

  window.riskmap = {
    init: function (map, cfg) { window.riskmap.current = new RiskMap(map, cfg); return window.riskmap.current; }
  };
})();
