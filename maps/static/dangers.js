/* riskmap's hidden-danger layer (used by maps/static/riskmap.js): the open and reopened hidden dangers (隐患) of the
 * view, from GET /hidden-dangers?format=geojson&status=open,reopened&bbox=..., never inlined in the page.
 *
 * A site with several open dangers has them all at its one point, so the layer draws one marker per site, and its
 * popup lists the site's dangers (description, grade, deadline, days overdue, status) with a link to the site's
 * page.  A marker is hollow while none of its dangers is overdue, filled when one is (past its deadline and not
 * rectified, on the server's date), and ringed twice when one is major.  It is off by default: the layer switcher
 * shows it, and riskmap.js loads it for the view while it is on, at most 10 pages of 1,000 dangers a view (as for
 * the other layers); the list comes overdue first, so a view holding more leaves out the dangers not yet due.
 */
(function () {
  "use strict";

  var TEXT = {
    zh: {layer: "隐患（未整改 / 逾期）", open: "未整改隐患", overdue: "逾期隐患", major: "含重大事故隐患",
         grade: {general: "一般隐患", major: "重大事故隐患"}, status: {open: "未整改", reopened: "整改后复发"},
         deadline: "整改期限", nodeadline: "未定整改期限", days: "逾期 {} 天", site: "场所详情", dangers: "{} 项隐患"},
    en: {layer: "Hidden dangers (open / overdue)", open: "Open hidden danger", overdue: "Overdue hidden danger",
         major: "with a major hidden danger", grade: {general: "general", major: "major"},
         status: {open: "open", reopened: "reopened"}, deadline: "Deadline", nodeadline: "no deadline set",
         days: "{} days overdue", site: "Site page", dangers: "{} hidden dangers"}
  };

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  // the marker's look: data-overdue and data-major drive riskmap.css (hollow / filled, one ring / two)
  function icon(overdue, major, site) {
    return L.divIcon({className: "riskmap-danger", iconSize: [20, 20], iconAnchor: [10, 10],
                      html: '<div class="riskmap-danger-icon" data-overdue="' + overdue + '" data-major="' + major +
                            '" data-site="' + esc(site) + '">!</div>'});
  }

  function DangerLayer(rm) {
    this.rm = rm;
    this.group = L.featureGroup();  // (riskmap.js adds it to the layer switcher, not to the map)
    this.sites = {};  // "kind.id" -> {latlng, site, dangers: [...]} of the view drawn
  }

  DangerLayer.prototype.t = function (key) { return TEXT[this.rm.lang][key]; };

  // the dangers of the view: every page of the answer (riskmap.js's pages()), drawn one marker a site
  DangerLayer.prototype.load = function (bbox, generation) {
    var self = this, rm = this.rm;
    var url = rm.url("/hidden-dangers", {format: "geojson", status: "open,reopened", bbox: bbox, limit: 1000});
    return rm.pages(url, generation).then(function (features) {
      if (generation !== rm.generation) return;
      self.draw(features);
    });
  };

  DangerLayer.prototype.draw = function (features) {
    var self = this, sites = {}, order = [];
    features.forEach(function (f) {
      if (!f.geometry) return;  // a danger whose site is gone has no place on the map
      var p = f.properties, key = p.site.kind + "." + p.site.id;
      if (!sites[key]) {
        sites[key] = {key: key, site: p.site, latlng: [f.geometry.coordinates[1], f.geometry.coordinates[0]],
                      dangers: []};
        order.push(key);
      }
      sites[key].dangers.push(p);  // (in the list's order: overdue first, then by deadline)
    });
    this.group.clearLayers();
    this.sites = sites;
    order.forEach(function (key) {
      var s = sites[key];
      s.overdue = s.dangers.some(function (d) { return d.overdue; });
      s.major = s.dangers.some(function (d) { return d.grade === "major"; });
      var marker = L.marker(s.latlng, {icon: icon(s.overdue, s.major, key), keyboard: false,
                                       zIndexOffset: s.overdue ? 2000 : 1000,  // above the feature markers and clusters
                                       title: s.site.name + " · " + s.dangers.length});
      marker.bindPopup(function () { return self.popup(s); }, {maxWidth: 320});
      marker.addTo(self.group);
    });
    this.rm.map.getContainer().dataset.dangers = String(order.length);
  };

  DangerLayer.prototype.popup = function (s) {
    var self = this, lang = this.rm.lang, kind = this.rm.cfg.kinds.filter(function (k) { return k.name === s.site.kind; })[0];
    var items = s.dangers.map(function (d) {
      var when = d.deadline ? esc(self.t("deadline")) + " " + esc(d.deadline) : esc(self.t("nodeadline"));
      var late = d.overdue ? ' · <b class="riskmap-danger-late">' + esc(self.t("days").replace("{}", d.days_overdue)) + "</b>"
                           : " · " + esc(self.t("status")[d.status] || d.status);
      return '<li data-danger="' + d.id + '" data-overdue="' + d.overdue + '" data-grade="' + esc(d.grade) + '">' +
        "<b>" + esc(self.t("grade")[d.grade] || d.grade) + "</b>: " + esc(d.description) + "<br><small>" + when + late +
        "</small></li>";
    }).join("");
    return '<div class="riskmap-popup riskmap-danger-popup" data-site="' + esc(s.key) + '"><b>' + esc(s.site.name) + "</b> " +
      "<small>" + esc(kind ? kind[lang] : s.site.kind) + " · " + esc(this.t("dangers").replace("{}", s.dangers.length)) +
      '</small><ol class="riskmap-danger-list">' + items + "</ol>" +
      '<a href="' + this.rm.cfg.api + "/features/" + esc(s.site.kind) + "/" + s.site.id + "?lang=" + lang +
      '" target="_blank">' + esc(this.t("site")) + "</a></div>";
  };

  // the legend's rows of the layer (shown while it is on)
  DangerLayer.prototype.legend = function () {
    var self = this;
    return "<b>" + esc(this.t("layer")) + "</b>" + [[false, false, "open"], [true, false, "overdue"], [false, true, "major"]]
      .map(function (r) {
        return '<div class="riskmap-danger-row" data-overdue="' + r[0] + '" data-major="' + r[1] + '">' +
          '<span class="riskmap-danger-icon" data-overdue="' + r[0] + '" data-major="' + r[1] + '">!</span>' +
          esc(self.t(r[2])) + "</div>";
      }).join("");
  };

  window.riskmapDangers = {
    layer: function (rm) { return new DangerLayer(rm); },
    label: function (lang) { return TEXT[lang].layer; }
  };
})();
