/* riskmap's "change since" view (used by maps/static/riskmap.js): how each scored site's level has changed since a
 * chosen date, from the score history (GET /level-changes, GET /level-changes/areas), never inlined in the page.
 *
 * Close up (from cfg.feature_min_zoom) every site of the view is drawn: a site that rose with an up mark (▲), one
 * that fell with a down mark (▼), both in the colour of their level now, a site scored only since the date with a
 * "+", and an unchanged one as a faint dot.  Between the counties and that zoom only the sites that rose or fell
 * are drawn (there may be thousands of unchanged ones).  Zoomed out to the counties, each county shows how many of
 * its sites rose and fell (and how many are new) at a point inside it, counted whole, by the rule that places a
 * site in its area everywhere else.  A popup says e.g. "orange → red since 2026-09-01".
 *
 * The date comes from the address (?view=change&since=2026-09-01), else the server's default (90 days before its
 * date); the date box in the view's control changes it and the address follows, so a link opens the same view.
 */
(function () {
  "use strict";

  var TEXT = {
    zh: {mode: "等级变化", since: "对比日期", title: "自 {} 以来的等级变化", up: "等级上升", down: "等级下降",
         new: "此后新评分", same: "未变（淡色）", colourNote: "标记颜色为当前等级", areas: "缩小时：各县区上升 ▲ / 下降 ▼ 的数量",
         changed: "自 {d} 起：{a} → {b}", unchanged: "自 {d} 起未变：{a}", unscored: "{d} 时未评分 → {b}",
         score: "得分", details: "详情", history: "评分历史", inView: "视图内", loading: "加载中…",
         colours: {red: "红", orange: "橙", yellow: "黄", blue: "蓝"}},
    en: {mode: "Change since", since: "Since", title: "Change in level since {}", up: "rose", down: "fell",
         new: "scored only since", same: "unchanged (faint)", colourNote: "marks in the colour of the level now",
         areas: "Zoomed out: sites that rose ▲ / fell ▼ per county",
         changed: "{a} → {b} since {d}", unchanged: "{a}, unchanged since {d}", unscored: "not scored on {d} → {b}",
         score: "Score", details: "Details", history: "Score history", inView: "In view", loading: "Loading…",
         colours: {red: "red", orange: "orange", yellow: "yellow", blue: "blue"}}
  };
  var GLYPHS = {up: "▲", down: "▼", new: "+"};
  var DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  // a real calendar day written YYYY-MM-DD, or null
  function validDate(text) {
    var m = DATE.exec(text || "");
    if (!m) return null;
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3] ? text : null;
  }

  function fill(template, values) {
    return template.replace(/\{(\w)\}/g, function (all, k) { return values[k] !== undefined ? values[k] : all; });
  }

  function ChangeView(rm) {
    this.rm = rm;
    this.sites = L.featureGroup();  // the site marks (close up)
    this.areas = L.featureGroup();  // the per-county counts (zoomed out)
    this.group = L.featureGroup([this.sites, this.areas]);  // what riskmap.js adds to the map in this view
    this.since = validDate(new URLSearchParams(window.location.search).get("since")) || rm.cfg.change_since;
    this.counts = null;  // what the view shows: {up, down, same, new}
  }

  ChangeView.prototype.t = function (key) { return TEXT[this.rm.lang][key]; };

  ChangeView.prototype.colourName = function (level) { return this.t("colours")[level] || level; };

  // what the popup of a site says: "orange → red since 2026-09-01" (or new, or unchanged)
  ChangeView.prototype.sentence = function (p) {
    var v = {d: this.since, a: this.colourName(p.level_then), b: this.colourName(p.level_now)};
    if (p.change === "new") return fill(this.t("unscored"), v);
    if (p.change === "same") return fill(this.t("unchanged"), v);
    return fill(this.t("changed"), v);
  };

  ChangeView.prototype.popup = function (p) {
    var rm = this.rm, kind = rm.cfg.kinds.filter(function (k) { return k.name === p.kind; })[0];
    var scores = p.score_then === null ? esc(p.score_now) : esc(p.score_then) + " → " + esc(p.score_now);
    return '<div class="riskmap-popup riskmap-change-popup" data-site="' + esc(p.kind + "." + p.id) +
      '" data-change="' + esc(p.change) + '"><b>' + esc(p.name) + "</b> <small>" + esc(kind ? kind[rm.lang] : p.kind) +
      '</small><div class="riskmap-change-sentence">' + esc(this.sentence(p)) + "</div>" +
      esc(this.t("score")) + " " + scores + "<br>" +
      '<a href="' + rm.cfg.api + "/features/" + esc(p.kind) + "/" + p.id + "?lang=" + rm.lang + '" target="_blank">' +
      esc(this.t("details")) + "</a> · " +
      '<a href="' + rm.cfg.api + "/features/" + esc(p.kind) + "/" + p.id + '/history" target="_blank">' +
      esc(this.t("history")) + "</a></div>";
  };

  // a site's mark: ▲ / ▼ / + in the colour of its level now; an unchanged site a faint dot
  ChangeView.prototype.mark = function (f) {
    var self = this, p = f.properties, c = f.geometry.coordinates, colour = this.rm.colour[p.level_now] || "#888";
    var layer;
    if (p.change === "same") {
      layer = L.circleMarker([c[1], c[0]], {radius: 3, weight: 0, fillColor: colour, fillOpacity: 0.35,
                                           bubblingMouseEvents: false, className: "riskmap-change-same"});
    } else {
      layer = L.marker([c[1], c[0]], {
        keyboard: false, zIndexOffset: p.change === "new" ? 0 : 1000, title: p.name,
        icon: L.divIcon({className: "riskmap-change", iconSize: [20, 20], iconAnchor: [10, 10],
                         html: '<div class="riskmap-change-mark" data-change="' + p.change + '" data-level="' +
                               esc(p.level_now) + '" data-site="' + esc(p.kind + "." + p.id) + '" style="color:' +
                               colour + '">' + GLYPHS[p.change] + "</div>"})});
    }
    layer.bindPopup(function () { return self.popup(p); }, {maxWidth: 320});
    return layer;
  };

  // a county's counts, at a point inside it (not interactive: a click there searches around it, as on the zoning)
  ChangeView.prototype.areaLabel = function (f) {
    var p = f.properties, c = f.geometry.coordinates;
    var html = '<div class="riskmap-change-area" data-area="' + esc(p.admin_code) + '"><b>' + esc(p.name) + "</b><br>" +
      '<span data-change="up">▲' + p.up + '</span><span data-change="down">▼' + p.down + "</span>" +
      (p.new ? '<span data-change="new">+' + p.new + "</span>" : "") + "</div>";
    return L.marker([c[1], c[0]], {interactive: false, keyboard: false,
                                   icon: L.divIcon({className: "riskmap-change-label", iconSize: null, html: html})});
  };

  // the view's data: per county when zoomed out to the counties, else the sites (only the changed ones until
  // cfg.feature_min_zoom); riskmap.js calls this from refresh() with the view's box and generation
  ChangeView.prototype.load = function (bbox, generation) {
    var self = this, rm = this.rm, zoom = rm.map.getZoom(), container = rm.map.getContainer();
    container.dataset.change = "loading";
    if (zoom <= rm.cfg.county_max_zoom) {
      return fetch(rm.url("/level-changes/areas", {since: this.since, bbox: bbox, area_level: "county"}))
        .then(function (r) {
          if (!r.ok) throw new Error("/level-changes/areas: HTTP " + r.status);
          return r.json();
        }).then(function (body) {
          if (generation !== rm.generation) return;
          self.sites.clearLayers();
          self.areas.clearLayers();
          body.features.forEach(function (f) { self.areas.addLayer(self.areaLabel(f)); });
          self.counts = body.totals;
          container.dataset.change = "areas:" + body.features.length;
          self.showCounts();
        });
    }
    var params = {since: this.since, bbox: bbox, limit: 1000};
    if (zoom < rm.cfg.feature_min_zoom) params.change = "up,down";
    return rm.pages(rm.url("/level-changes", params), generation).then(function (features) {
      if (generation !== rm.generation) return;
      var counts = {up: 0, down: 0, same: 0, new: 0};
      self.sites.clearLayers();
      self.areas.clearLayers();
      features.forEach(function (f) {
        counts[f.properties.change] += 1;
        self.sites.addLayer(self.mark(f));
      });
      self.counts = params.change ? {up: counts.up, down: counts.down} : counts;
      container.dataset.change = "sites:" + features.length;
      self.showCounts();
    });
  };

  // the view's control: the date box and what the view shows
  ChangeView.prototype.control = function () {
    var self = this, rm = this.rm;
    var ctl = L.control({position: "topleft"});
    ctl.onAdd = function () {  // (once: riskmap.js moves it between the corners of a wide screen and a phone's)
      if (self.controlDiv) return self.controlDiv;
      var div = L.DomUtil.create("div", "riskmap-change-control");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.on(div, "click", L.DomEvent.stopPropagation);  // (as riskmap.js's panel: labels() rewrites it)
      L.DomEvent.disableScrollPropagation(div);
      self.controlDiv = div;
      self.labels();
      return div;
    };
    return ctl;
  };

  // (re)writes the control in the current language
  ChangeView.prototype.labels = function () {
    var self = this, div = this.controlDiv;
    if (!div) return;
    div.innerHTML = '<label>' + esc(this.t("since")) + ' <input type="date" name="since" value="' + esc(this.since) +
      '" max="9999-12-31"></label><div class="riskmap-change-counts"></div>';
    div.querySelector("input").onchange = function () {
      var value = validDate(this.value);
      if (!value || value === self.since) return;
      self.setSince(value);
    };
    this.showCounts();
  };

  ChangeView.prototype.setSince = function (value) {
    this.since = value;
    var url = new URL(window.location.href);
    url.searchParams.set("since", value);
    window.history.replaceState(null, "", url);
    this.rm.labels();  // the legend names the date
    this.rm.refresh();
  };

  ChangeView.prototype.showCounts = function () {
    var div = this.controlDiv && this.controlDiv.querySelector(".riskmap-change-counts"), c = this.counts;
    if (!div) return;
    if (!c) { div.textContent = this.t("loading"); return; }
    div.innerHTML = esc(this.t("inView")) + ": " + ["up", "down", "new", "same"].filter(function (k) {
      return c[k] !== undefined;
    }).map(function (k) {
      return '<span data-change="' + k + '">' + (k === "same" ? "=" : GLYPHS[k]) + c[k] + "</span>";
    }).join(" ");
  };

  // the legend's rows of the view (shown while it is on)
  ChangeView.prototype.legend = function () {
    var self = this, colour = this.rm.colour;
    var rows = [["up", "red"], ["down", "yellow"], ["new", "orange"]].map(function (r) {
      return '<div class="riskmap-change-row" data-change="' + r[0] + '"><span class="riskmap-change-mark" ' +
        'data-change="' + r[0] + '" style="color:' + colour[r[1]] + '">' + GLYPHS[r[0]] + "</span>" +
        esc(self.t(r[0])) + "</div>";
    });
    rows.push('<div class="riskmap-change-row" data-change="same"><span class="riskmap-change-dot" style="background:' +
              colour.blue + '"></span>' + esc(this.t("same")) + "</div>");
    return "<b>" + esc(this.t("title").replace("{}", this.since)) + "</b>" + rows.join("") +
      '<div class="riskmap-legend-note">' + esc(this.t("colourNote")) + "<br>" + esc(this.t("areas")) + "</div>";
  };

  window.riskmapChange = {
    view: function (rm) { return new ChangeView(rm); },
    label: function (lang) { return TEXT[lang].mode; },
    validDate: validDate
  };
})();
