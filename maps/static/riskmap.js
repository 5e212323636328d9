/* riskmap's main map: the risk layers, legend and panels on a Leaflet map built by folium (maps/main_map.py).
 *
 * Every layer is loaded from the API for the visible box and zoom, never inlined in the page:
 *   - four-colour zoning: counties (GET /areas?level=county) up to cfg.county_max_zoom, then H3 cells
 *     (GET /areas?level=h3:N), N growing with the zoom; county outlines on top at every zoom, so that the map
 *     reads without a basemap;
 *   - the exposure heatmap (GET /exposure, loaded while it is shown), thinned by the server to a bounded number of
 *     points, in colour bands set by the quantiles of the whole surface (GET /exposure/scale, fetched once:
 *     maps/static/heat.js), with its own legend; a switch turns the map from the zoning to the heatmap;
 *   - one layer per feature class (GET /features?kind=), clustered, from cfg.feature_min_zoom: venues with
 *     their type's glyph, tailings ponds with their downstream sector, pipelines by segment
 *     (GET /pipeline-segments), each stretch in its own level's colour (further out, from the H3 zooms, whole
 *     pipelines in their worst segment's colour);
 *   - the open and overdue hidden dangers (GET /hidden-dangers, maps/static/dangers.js), one marker a site, off by
 *     default: the layer switcher shows them, and they load for the view while they are on;
 *   - the change in level since a chosen date (GET /level-changes, maps/static/change.js), the third view of the
 *     switch (or ?view=change&since=YYYY-MM-DD): up and down marks per site close up, counts per county zoomed
 *     out; the zoning and the feature classes step aside while it shows;
 *   - clicking anywhere on the map (the zoning and the outlines do not take clicks), or the coordinate box, asks
 *     GET /risks/near within the radius chosen in the side panel, lists the answer there with the counts of the
 *     zoning area under the point, and marks the point and the search circle on the map.
 * Labels are Chinese by default, English on the switch.
 */
(function () {
  "use strict";

  var TEXT = {
    zh: {legend: "风险等级", zoning: "四色分区", boundaries: "行政边界", heat: "暴露热力图", near: "附近风险", go: "查询",
         lon: "经度", lat: "纬度", score: "得分", level: "等级", details: "详情",
         distance: "距离", factors: "主要因素", synthetic: "演示数据（合成），非真实企业",
         counts: "各等级数量", features: "风险点", loading: "加载中…", error: "加载失败", lang: "EN",
         unscored: "未评分", segment: "管段", exposure: "暴露值", area: "所在区域", clickhint: "点击地图查询附近风险",
         plan: "检查计划", team: "检查组", day: "第{}天", base: "驻地", schedule: "日程表",
         radius: "半径", more: "仅列出最近的 {} 个，半径内还有更多", heatLegend: "暴露值（全区分位数）",
         top: "最高 {} %", lowest: "最低 {} %", noheat: "没有暴露面数据", modeZoning: "四色分区", modeHeat: "热力图",
         heatNote: "缩小时每个方格显示其中最高的单元", cell: "H3 网格", inspect: "现场检查",
         controls: "图层", close: "关闭", here: "地图此处", zoneArea: "所在分区",
         worstWithin: "半径 {r} 内的风险点中最高等级", worstNearest: "半径 {r} 内最近的 {n} 个风险点中最高等级",
         noneWithin: "半径 {r} 内没有风险点",
         areaMax: "区域按其中最高等级的风险点着色（就高）：其中{level}的风险点不在半径 {r} 内的列表中",
         areaBanded: "区域的等级由其中风险点的综合得分分级，不是半径 {r} 内的最高等级",
         pipeNote: "（管道按其最近的管段列出）"},
    en: {legend: "Risk level", zoning: "Four-colour zoning", boundaries: "Admin boundaries", heat: "Exposure heatmap", near: "Risks near here",
         go: "Go", lon: "Lon", lat: "Lat", score: "Score", level: "Level",
         details: "Details", distance: "Distance", factors: "Top factors",
         synthetic: "Synthetic demo data, not real enterprises", counts: "Count per level", features: "Features",
         loading: "Loading…", error: "Could not load", lang: "中文", unscored: "unscored",
         segment: "segment",
         exposure: "Exposure", area: "Area", clickhint: "Click the map for the risks nearby",
         plan: "Inspection plan", team: "Team", day: "Day {}", base: "Base", schedule: "Schedule",
         radius: "Radius", more: "the nearest {} only: more lie within the radius",
         heatLegend: "Exposure (quantiles of the region)", top: "top {} %", lowest: "lowest {} %",
         noheat: "No exposure surface", modeZoning: "Zoning", modeHeat: "Heatmap",
         heatNote: "Zoomed out, each square shows its hottest cell", cell: "H3 cell", inspect: "Inspect",
         controls: "Layers", close: "Close", here: "Here on the map", zoneArea: "Zoning area",
         worstWithin: "Highest level of the risks within {r}", worstNearest: "Highest level of the nearest {n} risks within {r}",
         noneWithin: "No risks within {r}",
         areaMax: "An area takes the highest level of any risk inside it: its {level} risk is not among those listed within {r}",
         areaBanded: "An area's level bands the combined score of its risks; it is not the highest level within {r}",
         pipeNote: " (a pipeline is listed by its nearest segment)"}
  };
  var PAGES = 10; // at most this many pages of one layer for one view
  var RADII = [500, 1000, 2000, 5000, 10000]; // the search radii the panel offers (metres)
  var NEAR_LIMIT = 50; // features listed per search, nearest first
  // a phone's screen, held either way: the controls fold behind one toggle, the view switch and the search go to
  // the bottom (thumb reach), the legend turns compact (riskmap.css, .riskmap-narrow)
  var NARROW = "(max-width: 640px), (max-height: 500px)";
  var LOW = "(min-width: 641px)";  // (with NARROW: a phone on its side, low and wide)

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
    this.radius = 2000; // the search radius of "risks near here" (metres), chosen in the panel
    this.scale = null; // the heatmap's scale (GET /exposure/scale), fetched once when the heatmap is first shown
    this.build();
    this.narrow = window.matchMedia(NARROW);
    this.low = window.matchMedia(LOW);
    this.layout();
    // (a phone turned on its side, a window made wider: the layout follows)
    [this.narrow, this.low].forEach(function (query) {
      if (query.addEventListener) query.addEventListener("change", function () { self.layout(); });
    });
    // ?view=heat opens on the heatmap, ?view=change on the change since a date (the switch keeps the address in
    // step); showing either loads the view
    var view = new URLSearchParams(window.location.search).get("view");
    if (view === "heat" || view === "change") this.setMode(view);
    else this.refresh();
    map.on("moveend", function () { self.refresh(); });
    // every click on the map searches around it: the zoning and the outlines are not interactive, so a click on
    // them reaches the map (a click on a feature opens its popup and searches around it too)
    map.on("click", function (e) { self.near(e.latlng.lng, e.latlng.lat); });
  }

  // the controls' places for the screen: on a wide one as they always were (the layer switcher and the search
  // panel top right, the view switch top left, the legend bottom right); on a phone's (NARROW) the layer switcher
  // and the search fold behind the toggle (top right, over the compact legend), and the view switch, the change
  // view's date box and the search (a sheet, shown after a tap on the map or from the toggle) stack at the bottom
  // left, the search on top
  RiskMap.prototype.layout = function () {
    var narrow = this.narrow.matches, side = narrow && this.low.matches, container = this.map.getContainer();
    container.classList.toggle("riskmap-narrow", narrow);
    container.classList.toggle("riskmap-side", side);
    if (!narrow) this.fold();
    // [control, its place on a wide screen, on a phone held upright, on one held on its side (the search then goes
    // under the legend on the right, where the screen has room)]
    var self = this, places = [[this.modeSwitch, "topleft", "bottomleft", "bottomleft"],
                               [this.changeControl, "topleft", "bottomleft", "bottomleft"],
                               [this.legend, "bottomright", "topright", "topright"],
                               [this.panel, "topright", "bottomleft", "topright"]];
    places.forEach(function (place) {  // (bottom corners fill upwards: the search goes on top of the view switch)
      var ctl = place[0], want = place[side ? 3 : narrow ? 2 : 1];
      // (re-added in this order, whether or not it moves: a control added later would otherwise sit elsewhere)
      if (ctl.getContainer() && ctl.getContainer().parentNode) { ctl.remove(); ctl.options.position = want; ctl.addTo(self.map); }
      else ctl.options.position = want;
    });
  };

  // on a phone: opens or closes the controls behind the toggle (the layer switcher and the search); `near` opens
  // the search alone (after a tap on the map)
  RiskMap.prototype.fold = function (state) {
    var c = this.map.getContainer().classList;
    c.toggle("riskmap-open", state === "open");
    c.toggle("riskmap-near-open", state === "open" || state === "near");
    if (this.toggleDiv) this.toggleDiv.querySelector("a").setAttribute("aria-expanded", String(state === "open"));
  };

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
    // the zoning takes no clicks (it covers the whole region): a click anywhere searches around the point, and the
    // panel shows the counts of the area under it (areaAt)
    this.zoning = L.geoJSON(null, {
      interactive: false,
      style: function (f) {
        return {color: "#555", weight: 0.6, fillColor: self.colour[f.properties.level] || "#999", fillOpacity: 0.45};
      }
    }).addTo(map);
    // county outlines over everything, so that the map reads without a basemap (closed networks)
    this.outlines = L.geoJSON(null, {
      interactive: false, style: function () { return {fill: false, color: "#333", weight: 1.3, opacity: 0.8}; }
    }).addTo(map);
    // the heatmap in a pane of its own under the vector layers: the county outlines and the pipelines stay on top
    map.createPane("riskmapHeat");
    map.getPane("riskmapHeat").style.zIndex = 350;
    this.heat = riskmapHeat.layer({pane: "riskmapHeat"});
    // where the last search looked: a marker at the point and the search circle, in a pane above the risk layers
    // that lets clicks through
    map.createPane("riskmapSearch");
    map.getPane("riskmapSearch").style.zIndex = 450;
    map.getPane("riskmapSearch").style.pointerEvents = "none";
    this.search = L.featureGroup().addTo(map);
    this.searchRenderer = L.svg({pane: "riskmapSearch"});  // (an SVG circle: its own element, dashed crisply)
    // (by the switch or the layer switcher) the legends follow the layers shown; the heatmap loads when shown
    map.on("layeradd layerremove", function (e) {
      if (e.layer !== self.heat && e.layer !== self.zoning) return;
      self.showLegends();
      if (e.layer === self.heat && e.type === "layeradd") self.loadHeat();
    });
    // the hidden dangers: off by default (in the layer switcher); shown, they load for the view and their legend
    this.dangers = riskmapDangers.layer(this);
    map.on("layeradd layerremove", function (e) {
      if (e.layer !== self.dangers.group) return;
      self.showLegends();
      if (e.type === "layeradd") self.refresh();
    });
    // the change since a date: its marks and counts, and its control (the date box), shown in that view only
    this.change = riskmapChange.view(this);
    this.changeControl = this.change.control();
    this.hiddenKinds = [];  // the feature classes the change view took off the map (put back when it ends)
    this.kinds = {};
    this.sectors = L.featureGroup().addTo(map);  // the ponds' downstream sectors, shown with the ponds
    map.on("overlayremove", function (e) { if (e.layer === self.kinds.tailings_pond) map.removeLayer(self.sectors); });
    map.on("overlayadd", function (e) {
      if (e.layer === self.kinds.tailings_pond) self.sectors.addTo(map);
      // (a class shown again by the layer switcher during the change view: load it for the view)
      if (self.map.hasLayer(self.change.group) && Object.values(self.kinds).indexOf(e.layer) >= 0) self.refresh();
    });
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
    // (on a phone) the one toggle that opens the layer switcher and the search; hidden on a wide screen
    this.toggle = L.control({position: "topright"});
    this.toggle.onAdd = function () {
      if (self.toggleDiv) return self.toggleDiv;
      var div = self.toggleDiv = L.DomUtil.create("div", "riskmap-toggle leaflet-bar");
      L.DomEvent.disableClickPropagation(div);
      div.innerHTML = '<a href="#" role="button" aria-expanded="false"></a>';
      div.querySelector("a").onclick = function (e) {
        e.preventDefault();
        self.fold(self.map.getContainer().classList.contains("riskmap-open") ? null : "open");
      };
      return div;
    };
    this.toggle.addTo(map);
    this.switcher = L.control.layers(null, null, {collapsed: false}).addTo(map);
    this.plan = null;  // an inspection plan's routes and numbered stops (?plan=ID), one colour a team
    if (this.cfg.plan) this.loadPlan(this.cfg.plan);
    this.legend = L.control({position: "bottomright"});
    this.legend.onAdd = function () {
      if (!self.legendDiv) self.legendDiv = L.DomUtil.create("div", "riskmap-legend");  // (once: layout() moves it)
      return self.legendDiv;
    };
    this.legend.addTo(map);
    // one click between the two views of the risk: the four-colour zoning and the exposure heatmap
    this.modeSwitch = L.control({position: "topleft"});
    this.modeSwitch.onAdd = function () {  // (once: layout() moves it)
      if (self.modeDiv) return self.modeDiv;
      var div = L.DomUtil.create("div", "riskmap-mode leaflet-bar");
      L.DomEvent.disableClickPropagation(div);
      self.modeDiv = div;
      return div;
    };
    this.panel = L.control({position: "topright"});
    this.panel.onAdd = function () {  // (once: layout() moves it)
      if (self.panelDiv) return self.panelDiv;
      var div = L.DomUtil.create("div", "riskmap-panel");
      L.DomEvent.disableClickPropagation(div);
      // a click whose handler rewrites the panel (the language button) leaves its target outside it, where the
      // map would take it for a click on the map and search there: it stops here
      L.DomEvent.on(div, "click", L.DomEvent.stopPropagation);
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
    this.modeSwitch.addTo(map);
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
    this.legendDiv.innerHTML = '<div class="riskmap-legend-zoning"><b>' + esc(this.t("legend")) + "</b>" +
      rows.join("") + '</div><div class="riskmap-legend-heat"></div><div class="riskmap-legend-change">' +
      this.change.legend() + '</div><div class="riskmap-legend-dangers">' + this.dangers.legend() + "</div>";
    this.heatLegend();
    this.showLegends();
    this.modeDiv.innerHTML = ["zoning", "heat", "change"].map(function (mode) {
      var label = mode === "change" ? riskmapChange.label(self.lang) : self.t(mode === "heat" ? "modeHeat" : "modeZoning");
      return '<a href="#" role="button" data-mode="' + mode + '">' + esc(label) + "</a>";
    }).join("");
    this.change.labels();
    Array.prototype.forEach.call(this.modeDiv.querySelectorAll("a"), function (a) {
      a.onclick = function (e) { e.preventDefault(); self.setMode(a.dataset.mode); };
    });
    this.showMode();
    if (this.bannerDiv) this.bannerDiv.textContent = this.t("synthetic");
    // the layer switcher: remove and add again with the labels of this language
    [this.zoning, this.outlines, this.heat, this.dangers.group].concat(Object.values(this.kinds)).forEach(function (l) {
      self.switcher.removeLayer(l);
    });
    if (this.plan) this.switcher.removeLayer(this.plan);
    this.switcher.addOverlay(this.zoning, this.t("zoning"));
    this.switcher.addOverlay(this.outlines, this.t("boundaries"));
    this.switcher.addOverlay(this.heat, this.t("heat"));
    this.cfg.kinds.forEach(function (k) { self.switcher.addOverlay(self.kinds[k.name], k[self.lang]); });
    this.switcher.addOverlay(this.dangers.group, riskmapDangers.label(this.lang));
    if (this.plan) this.switcher.addOverlay(this.plan, this.t("plan") + " " + this.cfg.plan);
    var lastLon = this.lastNear ? this.lastNear[0].toFixed(5) : "";
    var lastLat = this.lastNear ? this.lastNear[1].toFixed(5) : "";
    var toggle = this.toggleDiv.querySelector("a");
    toggle.textContent = "☰ " + this.t("controls");
    toggle.title = this.t("controls");
    this.panelDiv.innerHTML =
      '<div class="riskmap-panel-head"><b>' + esc(this.t("near")) + '</b><span>' +
      '<button type="button" class="riskmap-lang">' + esc(this.t("lang")) + "</button>" +
      // (on a phone) closes the search and the controls behind the toggle
      '<button type="button" class="riskmap-close" title="' + esc(this.t("close")) + '" aria-label="' +
      esc(this.t("close")) + '">✕</button></span></div>' +
      '<form class="riskmap-coords">' + esc(this.t("lon")) + ' <input name="lon" size="9" value="' + lastLon +
      '"> ' + esc(this.t("lat")) + ' <input name="lat" size="8" value="' + lastLat + '"> <button type="submit">' +
      esc(this.t("go")) + "</button></form>" +
      '<label class="riskmap-radius">' + esc(this.t("radius")) + ' <select name="radius">' +
      RADII.map(function (r) {
        return '<option value="' + r + '"' + (r === self.radius ? " selected" : "") + ">" +
          (r < 1000 ? r + " m" : r / 1000 + " km") + "</option>";
      }).join("") + "</select></label>" +
      '<div class="riskmap-near">' + esc(this.t("clickhint")) + "</div>";
    this.panelDiv.querySelector(".riskmap-radius select").onchange = function () {
      self.radius = Number(this.value);
      if (self.lastNear) self.near(self.lastNear[0], self.lastNear[1]);
    };
    this.panelDiv.querySelector(".riskmap-close").onclick = function () { self.fold(null); };
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

  // the zoning, the heatmap or the change since a date ("zoning" | "heat" | "change"): the switch's three buttons;
  // the layer switcher can still show the zoning and the heatmap together.  The change view takes the zoning and
  // the feature classes off the map (its marks are the sites; a click on one opens its change), and puts the
  // classes back when it ends.
  RiskMap.prototype.setMode = function (mode) {
    var map = this.map, heat = mode === "heat", change = mode === "change";
    var wasChange = map.hasLayer(this.change.group);
    if (change && !wasChange) {
      this.hiddenKinds = Object.values(this.kinds).filter(function (g) { return map.hasLayer(g); });
      this.hiddenKinds.forEach(function (g) { map.removeLayer(g); });
      map.removeLayer(this.sectors);
    } else if (!change && wasChange) {
      map.removeLayer(this.change.group);
      this.changeControl.remove();
      this.hiddenKinds.forEach(function (g) { map.addLayer(g); });
      if (map.hasLayer(this.kinds.tailings_pond)) this.sectors.addTo(map);
      this.hiddenKinds = [];
    }
    if (heat) { map.removeLayer(this.zoning); map.addLayer(this.heat); }
    else if (change) { map.removeLayer(this.heat); map.removeLayer(this.zoning); }
    else { map.removeLayer(this.heat); map.addLayer(this.zoning); }
    if (change && !wasChange) {
      this.changeControl.addTo(map);
      this.layout();  // (in its place among the controls)
      map.addLayer(this.change.group);
    }
    var url = new URL(window.location.href);
    if (heat || change) url.searchParams.set("view", mode); else url.searchParams.delete("view");
    if (change) url.searchParams.set("since", this.change.since); else url.searchParams.delete("since");
    window.history.replaceState(null, "", url);  // a link to the page opens the same view
    this.showLegends();
    if (change !== wasChange) this.refresh();
  };

  RiskMap.prototype.showMode = function () {
    var heat = this.map.hasLayer(this.heat), zoning = this.map.hasLayer(this.zoning);
    var mode = heat === zoning ? "both" : (heat ? "heat" : "zoning");  // (both or neither: by the layer switcher)
    if (this.map.hasLayer(this.change.group)) mode = "change";
    this.map.getContainer().dataset.mode = mode;
    Array.prototype.forEach.call(this.modeDiv.querySelectorAll("a"), function (a) {
      a.classList.toggle("riskmap-mode-on", a.dataset.mode === mode);
      a.setAttribute("aria-pressed", String(a.dataset.mode === mode));
    });
  };

  // each legend shows while its layer does
  RiskMap.prototype.showLegends = function () {
    var zoning = this.map.hasLayer(this.zoning), heat = this.map.hasLayer(this.heat);
    var change = this.map.hasLayer(this.change.group);
    // (the change view's marks are in the levels' colours: their legend shows with it)
    this.legendDiv.querySelector(".riskmap-legend-zoning").style.display = zoning || change ? "" : "none";
    this.legendDiv.querySelector(".riskmap-legend-change").style.display = change ? "" : "none";
    this.legendDiv.querySelector(".riskmap-legend-heat").style.display = heat ? "" : "none";
    this.legendDiv.querySelector(".riskmap-legend-dangers").style.display = this.map.hasLayer(this.dangers.group) ? "" : "none";
    this.legendDiv.classList.toggle("riskmap-legend-both", zoning && heat);
    this.showMode();
    // over the heatmap, pipelines are thin grey lines: the network as context, not level colours to be read as heat
    var self = this;
    if (this.kinds.pipeline) this.kinds.pipeline.eachLayer(function (l) { l.setStyle(self.lineStyle(l.feature || l.getLayers()[0].feature)); });
  };

  // the style of a pipeline or segment line: its level's colour, or thin and grey over the heatmap
  RiskMap.prototype.lineStyle = function (f) {
    if (this.map.hasLayer(this.heat)) return {color: "#444", weight: 1.5, opacity: 0.7};
    var colour = this.colour[f && f.properties.level] || "#888";
    return {color: colour, weight: 4, opacity: 1, fillColor: colour, fillOpacity: 0.35};
  };

  // the heatmap's legend: a row per band, hottest first, with its values and its share of the region's cells
  RiskMap.prototype.heatLegend = function () {
    var self = this, div = this.legendDiv.querySelector(".riskmap-legend-heat"), sc = this.scale;
    if (!sc) { div.innerHTML = "<b>" + esc(this.t("heatLegend")) + "</b><div>" + esc(this.t("loading")) + "</div>"; return; }
    if (!sc.breaks) { div.innerHTML = "<b>" + esc(this.t("heatLegend")) + "</b><div>" + esc(this.t("noheat")) + "</div>"; return; }
    function num(v) { return String(Number(v.toPrecision(3))); }
    function pct(q) { return String(Math.round(q * 1000) / 10); }
    var b = sc.breaks, q = sc.quantiles, colours = this.heat.options.colours, rows = [];
    for (var band = colours.length - 1; band >= 0; band--) {
      var values, share;
      if (band === b.length) {
        values = "≥ " + num(b[band - 1]);
        share = this.t("top").replace("{}", pct(1 - q[band - 1]));
      } else if (band === 0) {
        values = "< " + num(b[0]);
        share = this.t("lowest").replace("{}", pct(q[0]));
      } else {
        values = num(b[band - 1]) + "–" + num(b[band]);
        share = pct(q[band - 1]) + "–" + pct(q[band]) + " %";
      }
      rows.push('<div class="riskmap-heat-row" data-band="' + band + '"><i style="background:' + colours[band] +
                '"></i>' + esc(values) + " <small>" + esc(share) + "</small></div>");
    }
    div.innerHTML = "<b>" + esc(this.t("heatLegend")) + "</b>" + rows.join("") +
      '<div class="riskmap-legend-note">' + esc(this.t("heatNote")) + "</div>";
  };

  // the heatmap's scale (once: it is the whole surface's, the same for every view), then the points of the view
  RiskMap.prototype.loadHeat = function () {
    var self = this;
    if (!this.scale && !this.scaleRequest) {
      this.scaleRequest = fetch(this.url("/exposure/scale", {})).then(function (r) {
        if (!r.ok) throw new Error("/exposure/scale: HTTP " + r.status);
        return r.json();
      }).then(function (scale) {
        self.scale = scale;
        self.heat.setBreaks(scale.breaks);
        self.heatLegend();
      }).catch(function (err) {
        self.scaleRequest = null;
        console.warn("riskmap: " + err.message);
      });
    }
    this.refresh();
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
    if (this.map.hasLayer(this.heat)) {
      if (this.scaleRequest) track(this.scaleRequest, "exposure scale");
      // about one point per 10 x 10 pixels: zoomed out, the server groups the cells on squares of that size
      var size = this.map.getSize(), points = Math.max(2000, Math.min(20000, Math.round(size.x * size.y / 100)));
      track(fetch(this.url("/exposure", {bbox: bbox, max_points: points})).then(function (r) {
        if (!r.ok) throw new Error("/exposure: HTTP " + r.status);
        return r.json();
      }).then(function (ex) {
        if (generation !== self.generation) return;
        self.heat.setData(ex.points, ex.grid_deg, ex.cell_m);
      }), "exposure");
    }
    if (this.map.hasLayer(this.dangers.group)) track(this.dangers.load(bbox, generation), "hidden dangers");
    if (this.map.hasLayer(this.change.group)) track(this.change.load(bbox, generation), "change since");
    var close = this.map.getZoom() >= this.cfg.feature_min_zoom;
    var middle = !close && this.map.getZoom() > this.cfg.county_max_zoom;
    this.cfg.kinds.forEach(function (k) {
      var group = self.kinds[k.name];
      // pipelines: whole, in their worst segment's colour, from the H3 zooms; by segment close up
      var wholePipelines = middle && k.name === "pipeline";
      if (!close && !wholePipelines) { group.clearLayers(); return; }
      if (!self.map.hasLayer(group) && self.map.hasLayer(self.change.group)) { group.clearLayers(); return; }
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
      style: function (feat) {
        if (p.kind === "pipeline" || p.kind === "pipeline_segment") return self.lineStyle(feat);
        return {color: colour, weight: 4, fillColor: colour, fillOpacity: 0.35};
      },
      // the popup and the click on the drawn layer itself: a marker cluster group takes the markers out of this
      // wrapper, which is never on the map, and a popup bound to it would never open
      onEachFeature: function (feat, drawn) {
        drawn.bindPopup(function () { return self.featurePopup(p, null); });
        // the popup stops the click before the map sees it: a click on a feature searches around it too (a point
        // feature's click is at the feature itself)
        drawn.on("click", function (e) { self.near(e.latlng.lng, e.latlng.lat); });
        drawn.on("popupopen", function (e) {
          if (p.kind === "pipeline_segment") return;  // a segment's popup says all it has; its pipeline has the page
          fetch(self.url("/features/" + p.kind + "/" + p.id, {})).then(function (r) { return r.json(); })
            .then(function (detail) { e.popup.setContent(self.featurePopup(p, detail.properties.factors)); })
            .catch(function () {});
        });
      }
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
      esc(this.t("details")) + "</a>" +
      // the inspectors' field form of the site (maps/inspection_form.py)
      " · <a class=\"riskmap-inspect-link\" href=\"" + this.cfg.api + "/inspect/" + kind + "/" + id + "?lang=" +
      this.lang + "\" target=\"_blank\">" + esc(this.t("inspect")) + "</a></div>";
  };

  // the zoning area (county or H3 cell) drawn under a point, or null
  RiskMap.prototype.areaAt = function (lon, lat) {
    function inRing(ring) {
      var inside = false;
      for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
        if ((yi > lat) !== (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi) inside = !inside;
      }
      return inside;
    }
    function inPolygon(rings) {
      return inRing(rings[0]) && !rings.slice(1).some(inRing);
    }
    var found = null, point = L.latLng(lat, lon);
    this.zoning.eachLayer(function (layer) {
      if (found || !layer.getBounds().contains(point)) return;
      var g = layer.feature.geometry;
      var polygons = g.type === "Polygon" ? [g.coordinates] : (g.type === "MultiPolygon" ? g.coordinates : []);
      if (polygons.some(inPolygon)) found = layer.feature.properties;
    });
    return found;
  };

  // an area's counts per level (all classes together), as a table
  RiskMap.prototype.areaCounts = function (p) {
    var self = this, totals = {};
    Object.values(p.counts || {}).forEach(function (byLevel) {
      Object.keys(byLevel).forEach(function (lv) { totals[lv] = (totals[lv] || 0) + byLevel[lv]; });
    });
    var rows = this.cfg.levels.map(function (lv) {
      return "<tr data-level=\"" + lv.name + "\"><td><i style=\"background:" + lv.colour + "\"></i>" + esc(lv[self.lang]) +
        "</td><td>" + (totals[lv.name] || 0) + "</td></tr>";
    });
    var name = p.name || (p.area_type === "h3" ? this.t("cell") + " " + p.area_id : p.area_id);
    // first, what the map shows at the point: the area drawn there, in its colour and level (called the zoning's
    // area while the heatmap or the change view hides the zoning)
    return "<div class=\"riskmap-area\" data-area=\"" + esc(p.area_id) + "\" data-level=\"" + esc(p.level || "") +
      "\"><div class=\"riskmap-area-level\">" +
      esc(this.t(this.map.hasLayer(this.zoning) ? "here" : "zoneArea")) + ": <b>" + esc(name) + "</b><br>" +
      "<i style=\"background:" + (this.colour[p.level] || "#999") + "\"></i><b>" + esc(this.levelName(p.level)) + "</b> · " +
      esc(this.t("score")) + " " + esc(p.score) + "</div>" +
      "<table><caption>" + esc(this.t("counts")) + "</caption>" + rows.join("") + "</table></div>";
  };

  // where the search looks: a marker at the point and the circle of the radius
  RiskMap.prototype.markSearch = function (lon, lat) {
    this.search.clearLayers();
    L.circle([lat, lon], {radius: this.radius, renderer: this.searchRenderer, interactive: false, color: "#1a1a1a",
                          weight: 2, dashArray: "6 4", fill: true, fillColor: "#1a1a1a", fillOpacity: 0.06,
                          className: "riskmap-search-circle"}).addTo(this.search);
    L.marker([lat, lon], {pane: "riskmapSearch", shadowPane: "riskmapSearch", interactive: false, keyboard: false})
      .addTo(this.search);
  };

  RiskMap.prototype.near = function (lon, lat) {
    var self = this;
    this.lastNear = [lon, lat];
    this.lastArea = this.areaAt(lon, lat);
    this.markSearch(lon, lat);
    var box = this.panelDiv.querySelector(".riskmap-coords");
    box.lon.value = lon.toFixed(5);
    box.lat.value = lat.toFixed(5);
    var list = this.panelDiv.querySelector(".riskmap-near");
    list.textContent = this.t("loading");
    delete list.dataset.radius;  // (set again with the answer: the radius it was asked for)
    if (this.narrow.matches) this.showSheet(lat, lon);
    var asked = this.nearRequest = {lon: lon.toFixed(6), lat: lat.toFixed(6), radius_m: this.radius, limit: NEAR_LIMIT};
    fetch(this.url("/risks/near", asked))
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (answer) {
        if (asked !== self.nearRequest) return;  // a newer search has been asked meanwhile
        self.lastNearAnswer = answer;
        self.showNear(answer);
      })
      .catch(function (err) { if (asked === self.nearRequest) list.textContent = self.t("error") + ": " + err.message; });
  };

  // (on a phone) the search opens as a sheet at the bottom (on the right when the phone is on its side); the map
  // moves the point beside it if the sheet, grown to its full height, would hide it
  RiskMap.prototype.showSheet = function (lat, lon) {
    this.fold("near");
    var box = this.map.getContainer().getBoundingClientRect(), sheet = this.panelDiv.getBoundingClientRect();
    var full = parseFloat(getComputedStyle(this.panelDiv).maxHeight) || sheet.height;
    var p = this.map.latLngToContainerPoint([lat, lon]);
    if (this.low.matches) {
      var left = sheet.left - box.left;
      if (p.x > left - 30 && p.y < sheet.top - box.top + full + 30) this.map.panBy([p.x - left / 2, 0]);
    } else {
      var top = sheet.bottom - box.top - full;
      if (p.y > top - 30) this.map.panBy([0, p.y - top / 2]);
    }
  };

  // a radius as the panel's select writes it
  function radiusText(r) { return r < 1000 ? r + " m" : r / 1000 + " km"; }

  // the answer of /risks/near: first the area the map draws at the point (its level is its own: the highest level
  // of any risk inside it, or its banded combined score), then the highest level among the risks the search found
  // within the radius (the nearest NEAR_LIMIT), said as such, with a note when the area is higher (its worst risk
  // lies outside the radius, or is a pipeline segment other than the one nearest the point), then the list
  RiskMap.prototype.showNear = function (answer) {
    var self = this, list = this.panelDiv.querySelector(".riskmap-near"), s = answer.summary;
    var radius = this.nearRequest ? this.nearRequest.radius_m : this.radius, r = radiusText(radius);
    var worst = s.returned ? (s.complete ? this.t("worstWithin") : this.t("worstNearest")).replace("{r}", r)
                                                                                         .replace("{n}", s.returned)
                           : this.t("noneWithin").replace("{r}", r);
    var head = (this.lastArea ? this.areaCounts(this.lastArea) : "") +
      "<div class=\"riskmap-near-summary\" data-worst=\"" + esc(s.worst_level || "") + "\">" + esc(worst) +
      (s.returned ? ": <i style=\"background:" + (this.colour[s.worst_level] || "#888") + "\"></i><b>" +
                    esc(this.levelName(s.worst_level)) + "</b>" : "") +
      (s.admin_area ? " · " + esc(this.t("area")) + ": " + esc(s.admin_area.name) : "") +
      " · " + esc(this.t("exposure")) + ": " + esc(s.exposure) + "</div>" + this.areaNote(this.lastArea, s, r);
    list.dataset.radius = String(radius);
    if (!answer.features.length) {  // (the summary says there is none within the radius)
      list.innerHTML = head;
      return;
    }
    list.innerHTML = head + "<ol class=\"riskmap-near-list\">" + answer.features.map(function (f) {
      var p = f.properties;
      return "<li data-kind=\"" + p.kind + "\" data-id=\"" + p.id + "\" data-level=\"" + (p.level || "") + "\">" +
        "<i style=\"background:" + (self.colour[p.level] || "#888") + "\"></i>" + esc(p.name) +
        " <small>" + Math.round(p.distance_m) + " m · " + esc(self.levelName(p.level)) + " " + esc(p.score) +
        "</small></li>";
    }).join("") + "</ol>" +
      (s.complete ? "" : "<p class=\"riskmap-near-more\">" + esc(this.t("more").replace("{}", s.returned)) + "</p>");
  };

  // why the area drawn at the point is higher than the highest level within the radius (or "" when it is not)
  RiskMap.prototype.areaNote = function (area, summary, r) {
    var rank = this.cfg.levels.map(function (lv) { return lv.name; }).reverse();  // lowest first
    if (!area || rank.indexOf(area.level) <= rank.indexOf(summary.worst_level)) return "";
    var note;
    if (area.level_max && area.level !== area.level_max) note = this.t("areaBanded").replace("{r}", r);
    else {
      note = this.t("areaMax").replace("{level}", this.levelName(area.level)).replace("{r}", r);
      if (((area.counts || {}).pipeline_segment || {})[area.level]) note += this.t("pipeNote");
    }
    return "<p class=\"riskmap-near-note\">" + esc(note) + "</p>";
  };

  window.riskmap = {
    init: function (map, cfg) { window.riskmap.current = new RiskMap(map, cfg); return window.riskmap.current; }
  };
})();
