// Sluice: the one script of the UI, hand-written, no build step. Every page works without
// it (plain links and forms); with it:
//   • <time datetime>               shown in the viewer's time zone;
//   • [data-menu]                   a WAI-ARIA menu button (arrow keys, Home/End, Esc);
//   • [data-dialog="id"]            opens <dialog id> modally instead of following the link
//                                   or submitting (Esc closes, focus goes back to the opener);
//   • [data-tabs]                   links to sections become WAI-ARIA tabs;
//   • [data-live-url]               the element's content is refreshed from that URL every
//                                   two seconds, without reloading the page.
(function () {
  "use strict";

  // ---- Times: server renders UTC text; show it in the viewer's zone, keep UTC as title.
  var dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      if (!t.title) t.title = t.textContent;
      t.textContent = dateFormat.format(d);
    });
  }

  // ---- Menu button. Markup: <div data-menu><button>Label</button><ul><li>item…</ul></div>,
  // each item a link or a button (in its form). Without script the list is simply shown.
  var menuCount = 0;
  function setupMenu(menu) {
    if (menu.dataset.ready) return;
    menu.dataset.ready = "1";
    var button = menu.querySelector("button");
    var list = menu.querySelector("ul");
    if (!button || !list) return;
    menuCount += 1;
    if (!button.id) button.id = "menu-button-" + menuCount;
    if (!list.id) list.id = "menu-list-" + menuCount;
    button.setAttribute("aria-haspopup", "menu");
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", list.id);
    list.setAttribute("role", "menu");
    list.setAttribute("aria-labelledby", button.id);
    list.hidden = true;
    list.querySelectorAll("li").forEach(function (li) { li.setAttribute("role", "none"); });
    var items = Array.prototype.slice.call(list.querySelectorAll("li > a, li > button, li > form > button"));
    items.forEach(function (item) {
      item.setAttribute("role", "menuitem");
      item.tabIndex = -1;
    });
    function open(focusIndex) {
      list.hidden = false;
      button.setAttribute("aria-expanded", "true");
      if (items.length) items[(focusIndex + items.length) % items.length].focus();
    }
    function close(returnFocus) {
      if (list.hidden) return;
      list.hidden = true;
      button.setAttribute("aria-expanded", "false");
      if (returnFocus) button.focus();
    }
    button.addEventListener("click", function () {
      if (list.hidden) open(0); else close(true);
    });
    button.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "Enter" || e.key === " ") { e.preventDefault(); open(0); }
      else if (e.key === "ArrowUp") { e.preventDefault(); open(-1); }
    });
    list.addEventListener("keydown", function (e) {
      var i = items.indexOf(document.activeElement);
      if (e.key === "ArrowDown") { e.preventDefault(); items[(i + 1) % items.length].focus(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
      else if (e.key === "Home") { e.preventDefault(); items[0].focus(); }
      else if (e.key === "End") { e.preventDefault(); items[items.length - 1].focus(); }
      else if (e.key === "Escape") { e.preventDefault(); close(true); }
      else if (e.key === "Tab") { close(false); }
    });
    // An item that opens a dialog closes the menu; the dialog returns focus to the button.
    items.forEach(function (item) {
      item.addEventListener("click", function () { close(false); item.dataset.returnTo = button.id; });
    });
    document.addEventListener("click", function (e) {
      if (!menu.contains(e.target)) close(false);
    });
  }

  // ---- Confirm dialog. Markup: <dialog id class="confirm" role="alertdialog"
  // aria-labelledby aria-describedby> … <button type="button" data-cancel>Cancel</button>
  // <form method="post">…<button>Abort campaign</button></form></dialog>. The opener is any
  // [data-dialog="id"]; without script it is a link to a page with the same form.
  function setupOpener(opener) {
    if (opener.dataset.ready) return;
    opener.dataset.ready = "1";
    opener.addEventListener("click", function (e) {
      var dialog = document.getElementById(opener.dataset.dialog);
      if (!dialog || typeof dialog.showModal !== "function") return;
      e.preventDefault();
      var returnTo = opener.dataset.returnTo ? document.getElementById(opener.dataset.returnTo) : opener;
      dialog.addEventListener("close", function restore() {
        dialog.removeEventListener("close", restore);
        if (returnTo && document.contains(returnTo)) returnTo.focus();
      });
      dialog.showModal();
      // The least destructive choice first, so Enter never confirms a brake by accident.
      var first = dialog.querySelector("[data-initial-focus]") || dialog.querySelector("[data-cancel]");
      if (first) first.focus();
    });
  }
  function setupDialog(dialog) {
    if (dialog.dataset.ready) return;
    dialog.dataset.ready = "1";
    dialog.querySelectorAll("[data-cancel]").forEach(function (b) {
      b.addEventListener("click", function () { dialog.close(); });
    });
  }

  // ---- Tabs. Markup: <div data-tabs><ul><li><a href="#panel">Label</a></li>…</ul>
  // <section id="panel">…</section>…</div>. Without script: links to sections on one page.
  function setupTabs(root) {
    if (root.dataset.ready) return;
    root.dataset.ready = "1";
    var list = root.querySelector("ul");
    var links = Array.prototype.slice.call(list.querySelectorAll("a[href^='#']"));
    var panels = links.map(function (a) { return document.getElementById(a.getAttribute("href").slice(1)); });
    list.setAttribute("role", "tablist");
    list.querySelectorAll("li").forEach(function (li) { li.setAttribute("role", "presentation"); });
    function select(index, focus) {
      links.forEach(function (a, i) {
        var on = i === index;
        a.setAttribute("aria-selected", on ? "true" : "false");
        a.tabIndex = on ? 0 : -1;
        if (panels[i]) panels[i].hidden = !on;
      });
      if (focus) links[index].focus();
    }
    links.forEach(function (a, i) {
      if (!a.id) a.id = "tab-" + (panels[i] ? panels[i].id : i);
      a.setAttribute("role", "tab");
      if (panels[i]) {
        a.setAttribute("aria-controls", panels[i].id);
        panels[i].setAttribute("role", "tabpanel");
        panels[i].setAttribute("aria-labelledby", a.id);
        panels[i].tabIndex = 0;
      }
      a.addEventListener("click", function (e) { e.preventDefault(); select(i, false); });
      a.addEventListener("keydown", function (e) {
        var n = links.length, to = null;
        if (e.key === "ArrowRight") to = (i + 1) % n;
        else if (e.key === "ArrowLeft") to = (i - 1 + n) % n;
        else if (e.key === "Home") to = 0;
        else if (e.key === "End") to = n - 1;
        if (to !== null) { e.preventDefault(); select(to, true); }
      });
    });
    var hash = location.hash.slice(1);
    var start = Math.max(0, panels.findIndex(function (p) { return p && p.id === hash; }));
    select(start, false);
  }

  // ---- Live refresher: the element's content from data-live-url every two seconds while
  // the page is visible; paused while focus is inside it, so nobody loses their place.
  function setupLive(el) {
    if (el.dataset.ready) return;
    el.dataset.ready = "1";
    function tick() {
      var busy = document.hidden || el.contains(document.activeElement);
      if (busy) { setTimeout(tick, 2000); return; }
      fetch(el.dataset.liveUrl, { headers: { "X-Sluice-Live": "1" }, credentials: "same-origin" })
        .then(function (res) {
          if (res.status === 401) { location.reload(); return null; }
          return res.ok ? res.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== undefined && html.trim() !== el.dataset.liveLast) {
            el.dataset.liveLast = html.trim();
            el.innerHTML = html;
            enhance(el);
          }
        })
        .catch(function () { /* offline for a moment: try again next tick */ })
        .then(function () { setTimeout(tick, 2000); });
    }
    setTimeout(tick, 2000);
  }

  function enhance(root) {
    localTimes(root);
    root.querySelectorAll("[data-menu]").forEach(setupMenu);
    root.querySelectorAll("dialog").forEach(setupDialog);
    root.querySelectorAll("[data-dialog]").forEach(setupOpener);
    root.querySelectorAll("[data-tabs]").forEach(setupTabs);
    root.querySelectorAll("[data-live-url]").forEach(setupLive);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
})();
