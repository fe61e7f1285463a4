// Reportes asíncronos: send a JSON file, follow its job live (Server-Sent Events), download
// the report, list and cancel jobs of the history. Plain JS, no build step; every text the
// user reads is in Spanish.
(function () {
  "use strict";

  const API = "/api/AsyncReports";
  const USER_KEY = "asyncReports.user";
  const API_KEY = "asyncReports.apiKey"; // in sessionStorage: gone with the tab
  const PAGE = 20; // jobs listed at first, and added by "Mostrar más"
  const MAX_PAGE = 200; // the most GET /jobs answers at once
  const LARGE_BYTES = 50 * 1024 * 1024; // the api's default large-lane threshold
  const REFRESH_MS = 10000;
  const FINAL = new Set(["Completed", "Failed", "Cancelled", "Expired"]);
  const LABELS = {
    Queued: "En cola",
    Processing: "Procesando",
    Completed: "Completado",
    Failed: "Con error",
    Cancelled: "Cancelado",
    Expired: "Expirado",
  };
  const numbers = new Intl.NumberFormat("es");
  const percents = new Intl.NumberFormat("es", { maximumFractionDigits: 0 });
  const dates = new Intl.DateTimeFormat("es", { dateStyle: "short", timeStyle: "medium" });

  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $("formulario"),
    campoClave: $("campo-clave"),
    clave: $("clave"),
    tipo: $("tipo"),
    tipoAyuda: $("tipo-ayuda"),
    usuario: $("usuario"),
    archivo: $("archivo"),
    zona: $("zona"),
    elegido: $("archivo-elegido"),
    aviso: $("aviso"),
    enviar: $("enviar"),
    cancelar: $("cancelar"),
    seguimiento: $("seguimiento"),
    subida: $("subida"),
    subidaTexto: $("subida-texto"),
    proceso: $("proceso"),
    procesoTexto: $("proceso-texto"),
    estado: $("estado"),
    error: $("error"),
    descarga: $("descarga"),
    enlace: $("enlace-descarga"),
    descargaDetalle: $("descarga-detalle"),
    actualizar: $("actualizar"),
    trabajos: $("trabajos"),
    sinTrabajos: $("sin-trabajos"),
    avisoTrabajos: $("aviso-trabajos"),
    mas: $("mas"),
  };

  let descriptions = {};
  let apiKey = sessionStorage.getItem(API_KEY) || ""; // sent as X-API-Key when the api asks
  let upload = null; // the XMLHttpRequest sending a file
  let stream = null; // the EventSource of the followed job
  let followed = null; // id of the job shown under "Su reporte"
  let pollTimer = 0;
  let jobs = []; // the history's first jobs, newest first, as the table shows them
  let wanted = PAGE; // how many of them the table lists

  // ---- small helpers ------------------------------------------------------------------

  function problemText(body, status) {
    if (body && (body.detail || body.title)) return body.detail || body.title;
    if (status === 0) return "No hay conexión con el servicio.";
    return `El servicio respondió con un error (${status}).`;
  }

  function withKey(headers) {
    return apiKey ? { ...headers, "X-API-Key": apiKey } : headers;
  }

  function askForKey() {
    // The api runs with API keys: the page asks for one (and keeps it in this tab only).
    ui.campoClave.hidden = false;
  }

  async function getJson(url, method) {
    const response = await fetch(url, {
      method: method || "GET",
      headers: withKey({ Accept: "application/json" }),
      cache: "no-store",
    });
    if (response.status === 401) askForKey();
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const error = new Error(problemText(body, response.status));
      error.status = response.status;
      throw error;
    }
    return { body, retryAfter: Number(response.headers.get("Retry-After")) || 0 };
  }

  function size(bytes) {
    if (bytes == null) return "";
    const units = ["B", "KB", "MB", "GB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    const digits = unit === 0 || value >= 100 ? 0 : 1;
    return `${new Intl.NumberFormat("es", { maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
  }

  function setBar(bar, text, percent) {
    const value = Math.max(0, Math.min(100, percent || 0));
    bar.value = value;
    text.textContent = `${percents.format(Math.floor(value))} %`;
  }

  function say(text, status) {
    // A live region: only a real change is announced, not every progress beat.
    if (ui.estado.textContent !== text) ui.estado.textContent = text;
    ui.estado.className = `estado estado-${status || ""}`;
  }

  function warn(text) {
    ui.aviso.textContent = text;
    ui.aviso.hidden = !text;
  }

  function busy(sending) {
    ui.enviar.disabled = sending;
    ui.cancelar.hidden = !sending;
  }

  // ---- report types and the form -------------------------------------------------------

  async function loadTypes() {
    try {
      const { body: types } = await getJson(`${API}/report-types`);
      const options = [new Option("Elija un tipo de reporte", "")];
      for (const type of types) options.push(new Option(type.name, type.name));
      ui.tipo.replaceChildren(...options);
      descriptions = Object.fromEntries(types.map((t) => [t.name, t.description]));
      if (types.length === 1) ui.tipo.value = types[0].name;
      describeType();
    } catch (error) {
      ui.tipo.replaceChildren(new Option("No se pudieron cargar los tipos", ""));
      warn(`No se pudo consultar los tipos de reporte: ${error.message}`);
    }
  }

  function describeType() {
    ui.tipoAyuda.textContent = descriptions[ui.tipo.value] || "";
  }

  function showFile() {
    const file = ui.archivo.files[0];
    ui.elegido.textContent = file ? `Archivo elegido: ${file.name} (${size(file.size)})` : "";
    warn("");
  }

  function setUpDropZone() {
    const over = (event) => {
      event.preventDefault();
      ui.zona.classList.add("encima");
    };
    const out = () => ui.zona.classList.remove("encima");
    ui.zona.addEventListener("dragenter", over);
    ui.zona.addEventListener("dragover", over);
    ui.zona.addEventListener("dragleave", out);
    ui.zona.addEventListener("drop", (event) => {
      event.preventDefault();
      out();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        ui.archivo.files = event.dataTransfer.files;
        showFile();
      }
    });
    // A file dropped beside the zone must not make the browser leave the page.
    for (const name of ["dragover", "drop"]) {
      window.addEventListener(name, (event) => event.preventDefault());
    }
  }

  function submit(event) {
    event.preventDefault();
    const file = ui.archivo.files[0];
    const user = ui.usuario.value.trim();
    if (!ui.tipo.value) return fail(ui.tipo, "Elija un tipo de reporte.");
    if (!user) return fail(ui.usuario, "Escriba su correo o usuario.");
    if (!file) return fail(ui.archivo, "Elija el archivo JSON con los datos.");
    if (!file.size) return fail(ui.archivo, "El archivo elegido está vacío.");
    localStorage.setItem(USER_KEY, user);
    send(file, ui.tipo.value, user);
  }

  function fail(field, text) {
    warn(text);
    field.focus();
  }

  // ---- sending the file (XMLHttpRequest: the only API with upload progress) -------------

  function send(file, reportType, userName) {
    stopFollowing();
    warn("");
    const data = new FormData();
    // Fields before the file: the api checks them before it reads a byte of the file.
    data.append("reportType", reportType);
    data.append("userName", userName);
    data.append("isLargeDataset", file.size >= LARGE_BYTES ? "true" : "false");
    data.append("dataFile", file, file.name);

    const xhr = new XMLHttpRequest();
    upload = xhr;
    xhr.open("POST", `${API}/queue-multipart`);
    xhr.responseType = "json";
    if (apiKey) xhr.setRequestHeader("X-API-Key", apiKey);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) setBar(ui.subida, ui.subidaTexto, (100 * event.loaded) / event.total);
    };
    xhr.onload = () => {
      upload = null;
      busy(false);
      if (xhr.status === 202 && xhr.response && xhr.response.jobId) {
        setBar(ui.subida, ui.subidaTexto, 100);
        accepted(xhr.response, reportType, userName);
      } else {
        if (xhr.status === 401) askForKey();
        say("El archivo no fue aceptado.", "Failed");
        warn(problemText(xhr.response, xhr.status));
      }
    };
    xhr.onerror = () => {
      upload = null;
      busy(false);
      say("El envío se interrumpió.", "Failed");
      warn("Se perdió la conexión con el servicio durante el envío. Intente de nuevo.");
    };
    xhr.onabort = () => {
      upload = null;
      busy(false);
      say("Envío cancelado.", "");
    };

    showTracking();
    say(`Enviando ${file.name} (${size(file.size)})…`, "");
    busy(true);
    xhr.send(data);
  }

  function cancelUpload() {
    if (upload) upload.abort();
  }

  function showTracking() {
    ui.seguimiento.hidden = false;
    ui.descarga.hidden = true;
    ui.error.hidden = true;
    ui.error.textContent = "";
    setBar(ui.subida, ui.subidaTexto, 0);
    setBar(ui.proceso, ui.procesoTexto, 0);
  }

  function accepted(body, reportType, userName) {
    show({
      jobId: body.jobId,
      status: body.status,
      message: body.message,
      createdAt: body.createdAt,
      reportType,
      userName,
      progress: { percent: 0 },
    }, true);
    follow(body.jobId);
  }

  // ---- following a job: Server-Sent Events, polling only if they are not available -----

  function follow(jobId) {
    stopFollowing();
    followed = jobId;
    // EventSource cannot send a header: with an API key, the page polls instead.
    if (!("EventSource" in window) || apiKey) {
      poll(jobId);
      return;
    }
    const source = new EventSource(`${API}/events/${encodeURIComponent(jobId)}`);
    stream = source;
    source.addEventListener("status", (event) => {
      const job = JSON.parse(event.data);
      show(job);
      if (FINAL.has(job.status)) stopFollowing();
    });
    source.onerror = () => {
      // CONNECTING: the browser reconnects by itself. CLOSED: the stream was refused.
      if (source.readyState === EventSource.CLOSED && stream === source) {
        stream = null;
        poll(jobId);
      }
    };
  }

  async function poll(jobId) {
    if (followed !== jobId) return;
    let wait = 2;
    try {
      const { body, retryAfter } = await getJson(`${API}/status/${encodeURIComponent(jobId)}`);
      show(body);
      if (FINAL.has(body.status)) return;
      wait = retryAfter || wait;
    } catch (error) {
      if (error.status === 404 || error.status === 410) {
        say(error.message, "Expired");
        return;
      }
      wait = 5;
    }
    pollTimer = window.setTimeout(() => poll(jobId), wait * 1000);
  }

  function stopFollowing() {
    if (stream) stream.close();
    stream = null;
    window.clearTimeout(pollTimer);
  }

  function about(seconds) {
    // As people say it: 12 s, 3 min, 1 h 5 min.
    const whole = Math.max(1, Math.ceil(seconds));
    if (whole < 90) return `${whole} s`;
    const minutes = Math.round(whole / 60);
    if (minutes < 90) return `${minutes} min`;
    const rest = minutes % 60;
    return `${Math.floor(minutes / 60)} h${rest ? ` ${rest} min` : ""}`;
  }

  function eta(job) {
    // The service's estimate, when it gives one: time left of a running job, time until a
    // queued one starts.
    const running = job.status === "Processing";
    if (!running && job.status !== "Queued") return "";
    const seconds = running ? job.estimatedSecondsLeft : job.estimatedStartIn;
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return "";
    return `${running ? "quedan" : "empieza en"} ~${about(seconds)}`;
  }

  function describe(job) {
    const ahead = eta(job);
    const then = ahead ? ` ${ahead[0].toUpperCase()}${ahead.slice(1)}.` : "";
    switch (job.outcome || job.status) {
      case "Queued":
        return (job.queuePosition ? `En cola, posición ${job.queuePosition}.` : "En cola.") + then;
      case "Processing":
        return `Procesando el reporte…${then}`;
      case "Completed": {
        const records = job.performanceMetrics ? job.performanceMetrics.recordsProcessed : null;
        const count = records == null ? "" : ` con ${numbers.format(records)} registros`;
        return `Reporte listo${count}. Ya puede descargarlo.`;
      }
      case "Failed":
        return "El reporte no se pudo generar.";
      case "Cancelled":
        return "El trabajo fue cancelado.";
      case "Expired":
        return "El reporte expiró y fue eliminado.";
      default:
        return LABELS[job.status] || job.status;
    }
  }

  function show(job, fromSubmission) {
    const index = jobs.findIndex((listed) => listed.jobId === job.jobId);
    if (index >= 0) jobs[index] = { ...jobs[index], ...job };
    else if (fromSubmission) jobs.unshift(job); // listed before the next refresh finds it
    renderJobs();
    if (job.jobId !== followed && !fromSubmission) return;
    const percent = job.status === "Completed" ? 100 : (job.progress && job.progress.percent) || 0;
    setBar(ui.proceso, ui.procesoTexto, percent);
    say(describe(job), job.outcome || job.status);
    if (job.status === "Completed" && job.downloadUrl) {
      ui.enlace.href = job.downloadUrl;
      ui.enlace.dataset.fileName = job.fileName || "";
      ui.descargaDetalle.textContent = `${job.fileName || ""} · ${size(job.fileSizeBytes)}`;
      ui.descarga.hidden = false;
    }
    // A cancelled job's state says all there is; a failed one's error says what went wrong.
    if (job.status === "Failed" && !["Cancelled", "Expired"].includes(job.outcome)) {
      ui.error.textContent = job.error || job.message || "Error desconocido.";
      ui.error.hidden = false;
    }
  }

  // ---- recent jobs: the history (GET /jobs), newest first --------------------------------

  function tell(text) {
    // What came of an action on the list (a cancel), in a live region of its own.
    ui.avisoTrabajos.textContent = text;
    ui.avisoTrabajos.hidden = !text;
  }

  async function refreshJobs() {
    try {
      const { body } = await getJson(`${API}/jobs?limit=${wanted}`);
      jobs = body.jobs;
      ui.mas.hidden = !body.nextCursor || wanted >= MAX_PAGE;
      ui.sinTrabajos.textContent = "No hay trabajos recientes.";
    } catch (error) {
      ui.sinTrabajos.textContent = `No se pudo consultar los trabajos: ${error.message}`;
      ui.sinTrabajos.hidden = false;
      return;
    }
    renderJobs();
  }

  function showMore() {
    wanted = Math.min(MAX_PAGE, wanted + PAGE);
    refreshJobs();
  }

  function renderJobs() {
    const rows = jobs.map(row);
    ui.trabajos.replaceChildren(...rows);
    ui.sinTrabajos.hidden = rows.length > 0;
  }

  async function cancelJob(job, created) {
    const name = `${job.reportType || "trabajo"} de ${created}`;
    try {
      const { body } = await getJson(`${API}/jobs/${encodeURIComponent(job.jobId)}`, "DELETE");
      show(body);
      tell(`Trabajo cancelado: ${name}.`);
    } catch (error) {
      // 409: it ended meanwhile; the list shows how.
      tell(`No se pudo cancelar el ${name}: ${error.message}`);
      refreshJobs();
    }
  }

  function cell(label, content, className) {
    const td = document.createElement("td");
    td.setAttribute("role", "cell"); // kept when a narrow screen shows rows as cards
    td.dataset.etiqueta = label; // a card's label for the cell (see styles.css)
    if (className) td.className = className;
    if (content instanceof Node) td.append(content);
    else td.textContent = content == null ? "" : String(content);
    return td;
  }

  function actionButton(text, label, onClick) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "boton secundario chico";
    button.textContent = text;
    button.setAttribute("aria-label", label);
    button.addEventListener("click", () => onClick(button));
    return button;
  }

  function row(job) {
    const tr = document.createElement("tr");
    tr.setAttribute("role", "row");
    const created = job.createdAt ? dates.format(new Date(job.createdAt)) : "";
    const shown = job.outcome || job.status;
    const percent = job.status === "Completed" ? 100 : (job.progress && job.progress.percent) || 0;
    const actions = document.createElement("span");
    actions.className = "acciones-fila";
    if (job.status === "Completed" && job.downloadUrl) {
      const link = document.createElement("a");
      link.href = job.downloadUrl;
      link.download = "";
      link.addEventListener("click", (event) => downloadWithKey(event, link.href, job.fileName));
      link.textContent = "Descargar";
      link.setAttribute("aria-label", `Descargar ${job.fileName || "reporte"}`);
      actions.append(link);
    } else if (!FINAL.has(job.status)) {
      const which = `el trabajo ${job.reportType || ""} de ${created}`;
      if (job.jobId !== followed) {
        actions.append(actionButton("Seguir", `Seguir ${which}`, () => {
          showTracking();
          setBar(ui.subida, ui.subidaTexto, 100);
          followed = job.jobId;
          show(job);
          follow(job.jobId);
          ui.seguimiento.scrollIntoView({ block: "nearest" });
        }));
      }
      actions.append(actionButton("Cancelar", `Cancelar ${which}`, (button) => {
        button.disabled = true;
        cancelJob(job, created);
      }));
    }
    const status = document.createElement("span");
    status.textContent = LABELS[shown] || shown;
    const ahead = eta(job);
    if (ahead) {
      const note = document.createElement("span");
      note.className = "estimado";
      note.textContent = ahead;
      status.append(" ", note);
    }
    tr.append(
      cell("Creado", created, "creado"),
      cell("Tipo", job.reportType),
      cell("Usuario", job.userName, "usuario"),
      cell("Estado", status, `estado-${shown}`),
      cell("Avance", `${percents.format(Math.floor(percent))} %`, "numero"),
      cell("Reporte", actions.childNodes.length ? actions : "", "accion"),
    );
    return tr;
  }

  // ---- downloads with an API key ------------------------------------------------------

  async function downloadWithKey(event, url, fileName) {
    // A plain link sends no header: with a key, fetch the ZIP and hand it to the browser.
    if (!apiKey) return;
    event.preventDefault();
    try {
      const response = await fetch(url, { headers: withKey({}), cache: "no-store" });
      if (!response.ok) {
        let body = null;
        try {
          body = await response.json();
        } catch (_) {
          body = null;
        }
        if (response.status === 401) askForKey();
        warn(problemText(body, response.status));
        return;
      }
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = fileName || "reporte.zip";
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    } catch (_) {
      warn("No se pudo descargar el reporte: se perdió la conexión con el servicio.");
    }
  }

  function useKey() {
    apiKey = ui.clave.value.trim();
    if (apiKey) sessionStorage.setItem(API_KEY, apiKey);
    else sessionStorage.removeItem(API_KEY);
    warn("");
    loadTypes();
    refreshJobs();
  }

  // ---- start ----------------------------------------------------------------------------

  function start() {
    ui.usuario.value = localStorage.getItem(USER_KEY) || "";
    if (apiKey) {
      ui.clave.value = apiKey;
      askForKey();
    }
    ui.clave.addEventListener("change", useKey);
    ui.enlace.addEventListener("click", (event) =>
      downloadWithKey(event, ui.enlace.href, ui.enlace.dataset.fileName),
    );
    ui.form.addEventListener("submit", submit);
    ui.tipo.addEventListener("change", describeType);
    ui.archivo.addEventListener("change", showFile);
    ui.cancelar.addEventListener("click", cancelUpload);
    ui.actualizar.addEventListener("click", () => refreshJobs());
    ui.mas.addEventListener("click", showMore);
    setUpDropZone();
    loadTypes();
    refreshJobs();
    window.setInterval(() => {
      if (document.visibilityState === "visible") refreshJobs();
    }, REFRESH_MS);
  }

  start();
})();
