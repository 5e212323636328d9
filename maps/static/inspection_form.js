/* The inspectors' field form (GET /inspect/{kind}/{id}, maps/inspection_form.py): it posts to the API.
 *
 *   - the API key is typed once and kept in this tab's sessionStorage (never in localStorage, never in a cookie),
 *     and sent as X-API-Key: the API refuses writes without it, and the page has no other credential;
 *   - POST /inspections records the inspection with the hidden dangers found (all or nothing), then each photo goes
 *     to POST /hidden-dangers/{id}/photos, one at a time (a phone's connection is slow);
 *   - each error the API returns is shown at the field it names (a 422's `errors`, or the import report of a bad
 *     row: `hidden_dangers` row n is the n-th danger), which is scrolled to and focused; the rest above the submit
 *     button; always in plain words with the field's label, the server's own text beside them in small print;
 *   - a photo over the server's size limit (photo_max_mb, served in the page's configuration) or not a JPEG, PNG
 *     or WebP image (judged by its first bytes, as the server judges it) is refused here, named with what is
 *     wrong next to its input, and never posted;
 *   - nothing is lost on a failed post: the form stays filled until the API has stored it, and its text is kept in
 *     sessionStorage too (a phone may reload a tab it put in the background); the inspection and its dangers
 *     carry register ids made here, so that sending again after an answer lost on the way cannot store them twice
 *     (the API answers 409); once the inspection is stored, only the photos not yet stored are sent again;
 *   - the buttons of a hidden danger not yet closed PATCH its status (the API says which changes are allowed;
 *     a refused one shows its message, and the card then shows the danger as it now is).
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("rm-inspect-config").textContent);
  var T = cfg.text;
  var KEY = "riskmap.apiKey";
  var DRAFT = "riskmap.inspect." + cfg.kind + "." + cfg.id;
  var INSPECTION_FIELDS = ["inspected_on", "team", "inspection_type", "outcome", "notes"];
  var DANGER_FIELDS = ["description", "category", "grade", "deadline", "responsible_unit", "responsible_person"];
  var FOUND_FILE = "request body: hidden_dangers";  // the import report's name of the dangers posted

  var form = document.getElementById("rm-inspection");
  var found = document.getElementById("rm-found");
  var template = document.getElementById("rm-danger-template");
  var formMessage = document.getElementById("rm-form-message");
  var done = document.getElementById("rm-done");
  var submit = form.querySelector(".rm-primary");
  var keyInput = form.elements.api_key;
  var state = {sourceId: newId(), stored: null, busy: false};  // stored: the inspection once the API has it

  function newId() {
    var bytes = new Uint8Array(10);
    crypto.getRandomValues(bytes);
    return "form-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function store(name, value) {
    try {
      if (value === null) sessionStorage.removeItem(name); else sessionStorage.setItem(name, value);
    } catch (e) { /* storage off (private mode): the page still works, it only forgets on reload */ }
  }

  function stored(name) {
    try { return sessionStorage.getItem(name); } catch (e) { return null; }
  }

  function format(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return values[k] !== undefined ? values[k] : m; });
  }

  // ----- talking to the API --------------------------------------------------------------------------------------

  // fetch with the key; resolves to {status, ok, data} (data: the JSON answer, or null), rejects when the server
  // cannot be reached
  function api(method, url, body) {
    var headers = {"Accept": "application/json"};
    var key = keyInput.value.trim();
    if (key) headers["X-API-Key"] = key;
    var init = {method: method, headers: headers};
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = {detail: text}; }
        return {status: r.status, ok: r.ok, data: data};
      });
    });
  }

  // ----- errors at their fields, in plain words -----------------------------------------------------------------

  var COLON = cfg.lang === "zh" ? "：" : ": ";
  var DATE_FIELDS = ["inspected_on", "found_on", "deadline", "on"];

  function clearErrors(scope) {
    scope.querySelectorAll(".rm-error").forEach(function (el) { el.textContent = ""; });
    scope.querySelectorAll(".rm-invalid").forEach(function (el) { el.classList.remove("rm-invalid"); });
    scope.querySelectorAll(".rm-message").forEach(function (el) { el.textContent = ""; el.className = "rm-message"; });
  }

  // the API's name of a body member, one spelling: "body.hidden_dangers[0].found_on" and
  // "hidden_dangers.0.found_on" are both hidden_dangers.0.found_on
  function apiName(name) {
    return String(name || "").replace(/\[(\d+)\]/g, ".$1").replace(/^body\./, "");
  }

  // the form's field that gives it: a danger's found_on, which this form never sends (the API takes the
  // inspection's date), is the inspection's date field
  function formName(name) {
    return /^hidden_dangers\.\d+\.found_on$/.test(name) ? "inspected_on" : name;
  }

  // the field of `scope` the API's name points to ("hidden_dangers.0.deadline"), or the nearest enclosing one
  function fieldFor(scope, name) {
    var parts = String(name).split(".");
    while (parts.length) {
      var el = scope.querySelector('[data-field="' + CSS.escape(parts.join(".")) + '"]');
      if (el) return el;
      parts.pop();
    }
    return null;
  }

  // a field's label as the inspector reads it: "隐患 1 · 整改期限" for a field of a danger found
  function labelOf(el) {
    var own = el.dataset.label || (el.querySelector("legend") || {}).textContent || "";
    var set = el.parentElement && el.parentElement.closest(".rm-found-danger");
    return set ? set.querySelector("legend").textContent + " · " + own : own;
  }

  // what went wrong, in the inspector's words (T.problems), from the answer's status and the server's message
  function problemKey(status, field, text) {
    var last = String(field || "").split(".").pop();
    text = String(text || "").toLowerCase();
    if (status === 401) return "key";
    if (status === 403) return "role";
    if (status === 413) return "photo_too_large";
    if (status === 415) return "photo_type";
    if (status === 409) return "conflict";
    if (status >= 500) return "server";
    if (!field && status !== 422) return "other";
    if (/after today|in the future|future date|later than today/.test(text)) return "future";
    if (/before/.test(text)) return last === "deadline" ? "deadline_before" : last === "on" ? "change_before" : "before";
    if (DATE_FIELDS.indexOf(last) >= 0 && /date|month|day|year|too short/.test(text)) return "date";
    if (/required|missing/.test(text)) return "required";
    if (/at most|too long/.test(text)) return "too_long";
    if (/should be '|input should be/.test(text)) return "choice";
    return field ? "invalid" : "other";
  }

  // plain words first, the server's own text after them in small print
  function words(el, text, detail) {
    var main = document.createElement("span");
    main.className = "rm-plain";
    main.textContent = text;
    el.appendChild(main);
    if (detail) {
      var small = document.createElement("small");
      small.className = "rm-detail";
      small.textContent = T.server_says + detail;
      el.appendChild(small);
    }
  }

  function say(el, text, kind, detail) {
    el.textContent = "";
    if (text) words(el, text, detail);
    el.className = "rm-message" + (kind ? " rm-message-" + kind : "");
  }

  // an error shown at its field, which is marked, with the field's label
  function markField(el, text, detail) {
    var slot = el.querySelector(".rm-error");
    var line = document.createElement("span");
    line.className = "rm-error-line";
    words(line, text, detail);
    slot.appendChild(line);
    el.classList.add("rm-invalid");
  }

  function showFirstInvalid(scope, fallback) {
    var invalid = scope.querySelector(".rm-invalid");
    (invalid || fallback).scrollIntoView({block: "center"});
    var control = invalid && invalid.querySelector("input:not([disabled]), select, textarea");
    if (control) control.focus({preventScroll: true});
  }

  // a problem+json answer shown where it belongs: each named field at its field, the rest in `message`
  function showProblem(res, scope, message) {
    var p = res.data || {}, loose = [], marked = 0;
    var errors = [];
    // the server's text keeps the name it gave when the form shows the error at another field (a danger's found_on)
    function named(field, message) {
      var name = apiName(field), shownAt = formName(name);
      errors.push({field: shownAt, message: shownAt === name ? message : name + ": " + message});
    }
    (p.errors || []).forEach(function (e) { named(e.field, e.message); });
    ((p.report && p.report.errors) || []).forEach(function (e) {
      var field = e.field || "";
      if (p.report.file === FOUND_FILE && e.row) field = "hidden_dangers." + (e.row - 1) + (field ? "." + field : "");
      named(field, e.reason);
    });
    if ((res.status === 401 || res.status === 403) && scope.contains(keyInput)) {
      errors.push({field: "api_key", message: p.detail});
    }
    errors.forEach(function (e) {
      var el = e.field ? fieldFor(scope, e.field) : null;
      var plain = T.problems[problemKey(res.status, e.field, e.message)];
      if (!el) { loose.push((e.field ? e.field + COLON : "") + plain + " (" + e.message + ")"); return; }
      markField(el, labelOf(el) + COLON + plain, e.message);
      marked += 1;
    });
    // the headline in plain words; the detail's first line (what the server did: "... rejected: 1 error; nothing
    // was written") in small print
    var headline = marked ? format(T.fix_fields, {n: marked})
      : T.not_saved + T.problems[problemKey(res.status, "", p.detail)];
    var detail = String(p.detail || p.title || ("HTTP " + res.status)).split("\n")[0];
    say(message, [headline].concat(loose).join("\n"), "error", detail);
    showFirstInvalid(scope, message);
  }

  // ----- photos checked here before they are posted: the server's limit and types (it checks them again) ----------

  function megabytes(bytes) {
    return (bytes / 1048576).toFixed(1).replace(/\.0$/, "") + " MB";
  }

  // the image type of a file's first bytes, as the server judges it (geo/records/photos.py), or null
  function imageType(b) {
    if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
    var png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    if (b.length >= 8 && png.every(function (x, i) { return b[i] === x; })) return "image/png";
    var ascii = String.fromCharCode.apply(null, Array.prototype.slice.call(b, 0, 12));
    if (ascii.slice(0, 4) === "RIFF" && ascii.slice(8, 12) === "WEBP") return "image/webp";
    return null;
  }

  function head(file) {
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onload = function () { resolve(new Uint8Array(reader.result)); };
      reader.onerror = function () { resolve(new Uint8Array(0)); };
      reader.readAsArrayBuffer(file.slice(0, 12));
    });
  }

  // resolves to what is wrong with the photo (naming it), or null when the server would take it
  function photoProblem(file) {
    var name = file.name || "photo";
    if (file.size > cfg.photo_max_bytes) {
      return Promise.resolve(format(T.photo_too_large, {name: name, size: megabytes(file.size),
                                                         max: megabytes(cfg.photo_max_bytes)}));
    }
    if (!file.size) return Promise.resolve(format(T.photo_empty, {name: name}));
    return head(file).then(function (bytes) {
      return cfg.photo_types.indexOf(imageType(bytes)) >= 0 ? null : format(T.photo_bad_type, {name: name});
    });
  }

  // the photos the server would take; each one refused is named at `field` with what is wrong
  function acceptedPhotos(files, field) {
    field.classList.remove("rm-invalid");
    field.querySelector(".rm-error").textContent = "";
    return Promise.all(files.map(photoProblem)).then(function (problems) {
      problems.forEach(function (problem) { if (problem) markField(field, problem); });
      if (problems.some(Boolean)) field.scrollIntoView({block: "center"});
      return files.filter(function (file, k) { return !problems[k]; });
    });
  }

  // ----- the hidden dangers found --------------------------------------------------------------------------------

  function dangerSets() { return Array.prototype.slice.call(found.querySelectorAll(".rm-found-danger")); }

  // the dangers' fields named as the API names them (hidden_dangers.N.field), with ids of their own
  function renumber() {
    dangerSets().forEach(function (fs, i) {
      fs.dataset.field = "hidden_dangers." + i;
      fs.querySelector("legend").textContent = format(T.danger_n, {n: i + 1});
      fs.querySelectorAll(".rm-field").forEach(function (f) {
        var name = f.dataset.name || (f.dataset.name = f.dataset.field);
        var id = "f-hidden_dangers-" + i + "-" + name;
        f.dataset.field = "hidden_dangers." + i + "." + name;
        f.querySelector("label").htmlFor = id;
        f.querySelector("input, select, textarea").id = id;
      });
    });
  }

  function addDanger(values) {
    var fs = template.content.firstElementChild.cloneNode(true);
    values = values || {};
    fs.dataset.sourceId = values.source_id || newId();
    fs.rmPhotos = [];
    DANGER_FIELDS.forEach(function (name) {
      if (values[name] !== undefined) fs.querySelector('[name="' + name + '"]').value = values[name];
    });
    fs.insertBefore(document.createElement("span"), fs.children[1]).className = "rm-error";  // the danger's own
    found.appendChild(fs);
    fs.querySelector(".rm-remove").addEventListener("click", function () {
      fs.remove();
      renumber();
      saveDraft();
    });
    fs.querySelector('[name="photos"]').addEventListener("change", function (ev) {
      var input = ev.target, files = Array.prototype.slice.call(input.files);
      input.value = "";  // the same input takes the next photo
      acceptedPhotos(files, input.closest(".rm-field")).then(function (ok) {
        ok.forEach(function (file) { fs.rmPhotos.push({file: file}); });
        showPhotos(fs);
      });
    });
    renumber();
    return fs;
  }

  function showPhotos(fs) {
    var list = fs.querySelector(".rm-photo-list");
    list.textContent = "";
    fs.rmPhotos.forEach(function (photo, j) {
      var li = document.createElement("li");
      var img = document.createElement("img");
      img.src = photo.url || (photo.url = URL.createObjectURL(photo.file));
      img.alt = "";
      var name = document.createElement("span");
      name.textContent = photo.file.name + " · " + Math.max(1, Math.round(photo.file.size / 1024)) + " KB" +
        (photo.stored ? " ✓" : "");
      li.appendChild(img);
      li.appendChild(name);
      li.dataset.stored = photo.stored ? "true" : "false";
      if (photo.error) {
        var err = document.createElement("span");
        err.className = "rm-error";
        words(err, photo.error.text, photo.error.detail);
        li.appendChild(err);
      }
      if (!photo.stored) {
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = T.remove;
        remove.addEventListener("click", function () {
          URL.revokeObjectURL(photo.url);
          fs.rmPhotos.splice(j, 1);
          showPhotos(fs);
        });
        li.appendChild(remove);
      }
      list.appendChild(li);
    });
  }

  // ----- the form as the API's body, and as a draft --------------------------------------------------------------

  function value(scope, name) {
    var el = scope.querySelector('[name="' + name + '"]');
    return el ? el.value.trim() : "";
  }

  function collect() {
    var body = {site_kind: cfg.kind, site_id: cfg.id, source_id: state.sourceId};
    INSPECTION_FIELDS.forEach(function (name) { var v = value(form, name); if (v) body[name] = v; });
    body.hidden_dangers = dangerSets().map(function (fs) {
      var d = {source_id: fs.dataset.sourceId};
      DANGER_FIELDS.forEach(function (name) { var v = value(fs, name); if (v) d[name] = v; });
      return d;
    });
    return body;
  }

  function saveDraft() {
    if (state.stored) return;
    store(DRAFT, JSON.stringify(collect()));
  }

  function restoreDraft() {
    var text = stored(DRAFT), draft;
    if (!text) return;
    try { draft = JSON.parse(text); } catch (e) { return; }
    state.sourceId = draft.source_id || state.sourceId;
    INSPECTION_FIELDS.forEach(function (name) {
      if (draft[name] !== undefined) form.elements[name].value = draft[name];
    });
    (draft.hidden_dangers || []).forEach(addDanger);
    say(formMessage, T.draft_restored, "info");
  }

  // ----- sending -------------------------------------------------------------------------------------------------

  function lock() {
    // the inspection is stored: its fields can no longer change here; photos can still be added or removed
    form.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.name !== "photos" && el !== keyInput) el.disabled = true;
    });
    form.querySelectorAll(".rm-remove, #rm-add-danger").forEach(function (el) { el.disabled = true; });
    submit.textContent = T.submit_photos;
  }

  function postInspection() {
    return api("POST", "/inspections", collect()).then(function (res) {
      if (!res.ok) throw res;
      state.stored = {id: res.data.id, href: res.data.href,
                      dangers: res.data.hidden_dangers.map(function (d) { return d.id; })};
      store(DRAFT, null);
      lock();
    });
  }

  // the photos not yet stored, one after the other; resolves to the number that failed
  function postPhotos() {
    var failed = 0, chain = Promise.resolve();
    dangerSets().forEach(function (fs, i) {
      fs.rmPhotos.forEach(function (photo) {
        if (photo.stored) return;
        chain = chain.then(function () {
          var body = new FormData();
          body.append("file", photo.file, photo.file.name || "photo.jpg");
          if (photo.file.lastModified) body.append("taken_at", new Date(photo.file.lastModified).toISOString());
          return api("POST", "/hidden-dangers/" + state.stored.dangers[i] + "/photos", body).then(function (res) {
            photo.stored = res.ok;
            photo.error = res.ok ? null : {text: T.problems[problemKey(res.status, "", "")],
                                           detail: (res.data && res.data.detail) || ("HTTP " + res.status)};
            if (!res.ok) failed += 1;
            showPhotos(fs);
          });
        });
      });
    });
    return chain.then(function () { return failed; });
  }

  function finish() {
    var photos = 0;
    dangerSets().forEach(function (fs) { photos += fs.rmPhotos.length; });
    done.textContent = "";
    var text = document.createElement("p");
    text.textContent = format(T.sent, {id: state.stored.id, n: state.stored.dangers.length, p: photos});
    var view = document.createElement("a");  // the site's page: its records (a JSON record suits no phone)
    view.href = "/features/" + cfg.kind + "/" + cfg.id + "?format=html&lang=" + cfg.lang;
    view.textContent = T.view_record;
    var reload = document.createElement("a");
    reload.href = location.pathname + location.search;
    reload.textContent = T.reload;
    var again = document.createElement("button");
    again.type = "button";
    again.className = "rm-secondary";
    again.textContent = T.new_form;
    again.addEventListener("click", reset);
    [text, view, reload, again].forEach(function (el) { done.appendChild(el); });
    form.querySelectorAll('[name="photos"], .rm-photo-list button').forEach(function (el) { el.disabled = true; });
    done.hidden = false;
    done.dataset.inspectionId = state.stored.id;
    submit.hidden = true;
    say(formMessage, "");
    done.scrollIntoView({block: "center"});
  }

  function reset() {
    dangerSets().forEach(function (fs) {
      fs.rmPhotos.forEach(function (photo) { if (photo.url) URL.revokeObjectURL(photo.url); });
    });
    state = {sourceId: newId(), stored: null, busy: false};
    form.querySelectorAll("input, select, textarea, button").forEach(function (el) { el.disabled = false; });
    ["outcome", "notes"].forEach(function (name) { form.elements[name].value = ""; });  // the team stays
    found.textContent = "";
    done.hidden = true;
    submit.hidden = false;
    submit.textContent = T.submit;
    clearErrors(form);
    store(DRAFT, null);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (state.busy) return;
    state.busy = true;
    submit.disabled = true;
    clearErrors(form);
    say(formMessage, T.sending, "info");
    (state.stored ? Promise.resolve() : postInspection())
      .then(postPhotos)
      .then(function (failed) {
        if (failed) say(formMessage, format(T.recorded_photos_left, {id: state.stored.id}), "error");
        else finish();
      })
      .catch(function (res) {
        if (!res || !res.status) {
          say(formMessage, T.offline, "error");  // fetch itself failed: no answer from the server
        } else if (res.status === 409 && !state.stored && res.data &&
                   String(res.data.detail).indexOf(state.sourceId) >= 0) {
          // the register id made here is taken: an earlier attempt stored it and its answer was lost
          store(DRAFT, null);
          lock();
          submit.hidden = true;
          say(formMessage, T.already_stored, "error", res.data.detail);
        } else {
          showProblem(res, form, formMessage);
        }
      })
      .then(function () {
        state.busy = false;
        submit.disabled = false;
      });
  });

  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);
  document.getElementById("rm-add-danger").addEventListener("click", function () {
    addDanger().querySelector("textarea").focus();
    saveDraft();
  });
  keyInput.value = stored(KEY) || "";
  keyInput.addEventListener("change", function () { store(KEY, keyInput.value.trim() || null); });

  // ----- status changes of the hidden dangers not yet closed -----------------------------------------------------

  function showDanger(card, danger) {
    card.dataset.status = danger.status;
    var open = danger.status === "open" || danger.status === "reopened";
    card.dataset.overdue = String(open && !!danger.deadline && danger.deadline < cfg.as_of);
    card.querySelector(".rm-status").textContent = T.statuses[danger.status];
    var buttons = card.querySelector(".rm-buttons");
    buttons.textContent = "";
    danger.allowed_changes.forEach(function (status) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "rm-action";
      b.dataset.status = status;
      b.textContent = T.actions[status];
      buttons.appendChild(b);
    });
  }

  document.querySelectorAll(".rm-danger").forEach(function (card) {
    var message = card.querySelector(".rm-message");
    var url = "/hidden-dangers/" + card.dataset.dangerId;
    var photoInput = card.querySelector('[name="photo"]');
    // a photo of a danger already stored (of its rectification, or one an earlier attempt could not send)
    function postPhoto(file) {
      var body = new FormData();
      body.append("file", file, file.name || "photo.jpg");
      if (file.lastModified) body.append("taken_at", new Date(file.lastModified).toISOString());
      return api("POST", url + "/photos", body).then(function (res) {
        if (!res.ok) { showProblem(res, card, message); throw res; }
        return api("GET", url).then(function (now) {
          if (now.ok) say(message, format(T.photo_stored, {n: now.data.photos.length}), "ok");
        });
      });
    }
    photoInput.addEventListener("change", function () {
      var files = Array.prototype.slice.call(photoInput.files);
      clearErrors(card);
      photoInput.disabled = true;
      acceptedPhotos(files, photoInput.closest(".rm-field"))  // a refused one is named there and never posted
        .then(function (ok) {
          return ok.reduce(function (chain, file) {
            return chain.then(function () { return postPhoto(file); });
          }, Promise.resolve());
        })
        .catch(function (res) { if (!res || !res.status) say(message, T.offline, "error"); })
        .then(function () { photoInput.value = ""; photoInput.disabled = false; });
    });
    card.addEventListener("click", function (ev) {
      var button = ev.target.closest(".rm-action");
      if (!button || card.dataset.busy) return;
      card.dataset.busy = "1";
      clearErrors(card);
      var on = value(card, "on");
      api("PATCH", url, on ? {status: button.dataset.status, on: on} : {status: button.dataset.status})
        .then(function (res) {
          if (res.ok) {
            showDanger(card, res.data);
            say(message, format(T.changed, {status: T.statuses[res.data.status]}), "ok");
            return;
          }
          showProblem(res, card, message);
          if (res.status === 409) {  // the danger changed since the page was made: show it as it is now
            return api("GET", url).then(function (now) { if (now.ok) showDanger(card, now.data); });
          }
        }, function () { say(message, T.offline, "error"); })
        .then(function () { delete card.dataset.busy; });
    });
  });

  restoreDraft();
})();
