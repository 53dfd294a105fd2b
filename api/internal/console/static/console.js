// authlog console: the console's only script (CSP script-src 'self').
// Shows times in the viewer's zone (UTC stays on hover), and follows new
// events live on the events page.  Every page works without it.
"use strict";

function localTimes(root) {
  const fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });
  for (const el of root.querySelectorAll("time[datetime]")) {
    const t = new Date(el.getAttribute("datetime"));
    if (!isNaN(t)) el.textContent = fmt.format(t);
  }
  const hm = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const hms = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  for (const el of root.querySelectorAll("text[data-utc]")) {
    const t = new Date(el.getAttribute("data-utc"));
    if (!isNaN(t)) el.textContent = (el.hasAttribute("data-seconds") ? hms : hm).format(t);
  }
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  return td;
}

function followEvents(button) {
  const status = document.getElementById("tail-status");
  const body = document.getElementById("tailed");
  let source = null;
  button.addEventListener("click", () => {
    if (source) {
      source.close();
      source = null;
      button.textContent = "Follow new events live";
      status.textContent = "Stopped.";
      return;
    }
    source = new EventSource(button.dataset.src);
    button.textContent = "Stop following";
    status.textContent = "Following: new events appear at the top.";
    source.onmessage = (msg) => {
      const e = JSON.parse(msg.data);
      const tr = document.createElement("tr");
      tr.className = "new";
      const at = document.createElement("td");
      const time = document.createElement("time");
      time.setAttribute("datetime", e.occurred_at);
      time.title = e.occurred_at + " (UTC)";
      time.textContent = e.occurred_at;
      at.appendChild(time);
      tr.appendChild(at);
      tr.appendChild(cell(e.event_type));
      const user = document.createElement("td");
      const a = document.createElement("a");
      a.href = "/console/accounts/" + encodeURIComponent(e.user_id);
      a.textContent = e.user_id;
      user.appendChild(a);
      tr.appendChild(user);
      for (const v of [e.organisation_id, e.ip_address, e.decision, e.reason, e.actor, e.log_id]) tr.appendChild(cell(v));
      body.insertBefore(tr, body.firstChild);
      localTimes(tr);
    };
    source.addEventListener("end", (msg) => {
      status.textContent = msg.data;
      source.close();
      source = null;
      button.textContent = "Follow new events live";
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  const tail = document.getElementById("tail");
  if (tail) followEvents(tail);
});
