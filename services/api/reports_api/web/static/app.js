// Reportes asíncronos: send a JSON file, follow its job live (Server-Sent Events), download
// the report, list and cancel jobs of the history. Plain JS, no build step; every text the
// user reads is in Spanish. Large files go through tus (resumable uploads; the vendored
// tus-js-client, loaded before this script), small ones in one multipart request.
(function () {
  "use strict";

  const API = "/api/AsyncReports";
  const USER_KEY = "asyncReports.user";
  const API_KEY = "asyncReports.apiKey"; // in sessionStorage: gone with the tab
  const PAGE = 20; // jobs listed at first, and added by "Mostrar más"
  //: The ids of the jobs sent from this browser, newest first (the list shows those alone),
  //: and how many it remembers.
  const MINE_KEY = "asyncReports.jobs";
  const MINE_MAX = 200;
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
  //: How each CSV dialect the service announces is offered; an unknown one by its name.
  const DIALECTS = {
    rfc4180: "Estándar (coma y punto decimal)",
    "excel-es": "Excel en español (punto y coma)",
  };
  const HEAD_BYTES = 512; // the first bytes the api looks at too
  //: The api's S3 part size (reports_shared.objectstore.PART_SIZE): each PATCH of a tus
  //: upload fills one part exactly, so no tail is stored and read back between PATCHes.
  const CHUNK_BYTES = 5 * 1024 * 1024;
  //: Files this large and larger go through tus and survive a cut; smaller ones fit in one
  //: chunk anyway, and one multipart request answers with the job at once.
  const TUS_FROM_BYTES = CHUNK_BYTES;
  //: Waits (ms) before each new try after a dropped connection: about four minutes in all.
  const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 60000, 60000];
  const JOB_URL = "Upload-Job-Url"; // the header naming the job a finished upload became
  const TUS_KEYS = "tus::"; // how tus-js-client's entries for resuming start in localStorage
  const STARTED_OVER = "La subida anterior de este archivo ya no está en el servicio (expiró o "
    + "se borró): se envía de nuevo desde el principio.";
  const STALLED_S = 5; // seconds without a byte sent before the note says the upload waits
  const numbers = new Intl.NumberFormat("es");
  const percents = new Intl.NumberFormat("es", { maximumFractionDigits: 0 });
  //: Every date the page shows, one way (see when): "6 dic, 07:28", the year when not this one.
  const DAY_AND_TIME = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  const dates = new Intl.DateTimeFormat("es", DAY_AND_TIME);
  const datesWithYear = new Intl.DateTimeFormat("es", { ...DAY_AND_TIME, year: "numeric" });

  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $("formulario"),
    campoClave: $("campo-clave"),
    clave: $("clave"),
    tipo: $("tipo"),
    tipoAyuda: $("tipo-ayuda"),
    tipoError: $("tipo-error"),
    usuario: $("usuario"),
    usuarioError: $("usuario-error"),
    archivo: $("archivo"),
    archivoError: $("archivo-error"),
    campoDialecto: $("campo-dialecto"),
    dialecto: $("dialecto"),
    zona: $("zona"),
    elegido: $("archivo-elegido"),
    aviso: $("aviso"),
    enviar: $("enviar"),
    cancelar: $("cancelar"),
    seguimiento: $("seguimiento"),
    subida: $("subida"),
    subidaTexto: $("subida-texto"),
    subidaDetalle: $("subida-detalle"),
    proceso: $("proceso"),
    procesoTexto: $("proceso-texto"),
    estado: $("estado"),
    error: $("error"),
    rechazados: $("rechazados"),
    descarga: $("descarga"),
    enlace: $("enlace-descarga"),
    descargaDetalle: $("descarga-detalle"),
    actualizar: $("actualizar"),
    trabajos: $("trabajos"),
    sinTrabajos: $("sin-trabajos"),
    avisoTrabajos: $("aviso-trabajos"),
    mas: $("mas"),
  };

  let types = {}; // report type name -> {displayName, description, options}
  let apiKey = sessionStorage.getItem(API_KEY) || ""; // sent as X-API-Key when the api asks
  let upload = null; // what sends a file: an XMLHttpRequest or a tus.Upload (both abort())
  let stream = null; // the EventSource of the followed job
  let followed = null; // id of the job shown under "Su reporte"
  let pollTimer = 0;
  let meter = null; // the upload being sent: total, from, loaded, startedAt, movedAt
  let meterTimer = 0;
  let jobs = []; // this browser's latest jobs, newest first, as the table shows them
  let wanted = PAGE; // how many of them the table lists
  let refreshing = 0; // the latest reading of the list: an older one's answers are dropped

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
      error.body = body;
      throw error;
    }
    return { body, retryAfter: Number(response.headers.get("Retry-After")) || 0 };
  }

  function size(bytes) {
    // Decimal units, as people read them on a disk or a phone: 1 kB = 1000 bytes.
    if (bytes == null) return "";
    const units = ["B", "kB", "MB", "GB"];
    let value = bytes;
    let unit = 0;
    // 999,5 kB and up read as 1 MB, never "1000 kB".
    while (value >= (unit ? 999.5 : 1000) && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    const digits = unit === 0 || value >= 100 ? 0 : 1;
    // A no-break space: the figure and its unit stay on one line.
    return `${new Intl.NumberFormat("es", { maximumFractionDigits: digits }).format(value)}\u00a0${units[unit]}`;
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
    if (!sending) stopMeasuring(); // the upload ended: sent, refused, cut or cancelled
  }

  // ---- report types and the form -------------------------------------------------------

  async function loadTypes() {
    try {
      const { body: listed } = await getJson(`${API}/report-types`);
      const options = [new Option("Elija un tipo de reporte", "")];
      for (const type of listed) options.push(new Option(type.displayName || type.name, type.name));
      const chosen = ui.tipo.value;
      ui.tipo.replaceChildren(...options);
      types = Object.fromEntries(listed.map((t) => [t.name, t]));
      if (listed.length === 1) ui.tipo.value = listed[0].name;
      else if (types[chosen]) ui.tipo.value = chosen;
      describeType();
      renderJobs(); // the list names types as people read them
    } catch (error) {
      ui.tipo.replaceChildren(new Option("No se pudieron cargar los tipos", ""));
      warn(`No se pudo consultar los tipos de reporte: ${error.message}`);
    }
  }

  function typeName(name) {
    // The name people read ("Facturación masiva"), as the service announces it.
    const type = types[name];
    return (type && type.displayName) || name || "";
  }

  function describeType() {
    const type = types[ui.tipo.value];
    ui.tipoAyuda.textContent = type ? type.description : "";
    if (type) fieldError(ui.tipo, ui.tipoError, "");
    // The CSV dialects this type takes, the service's default first.
    const dialects = (type && type.options && type.options.csvDialect) || [];
    const kept = ui.dialecto.value;
    ui.dialecto.replaceChildren(...dialects.map((name) => new Option(DIALECTS[name] || name, name)));
    if (dialects.includes(kept)) ui.dialecto.value = kept;
    ui.campoDialecto.hidden = dialects.length < 2;
  }

  // ---- checking the form: the page's own messages, in Spanish, beside each field ---------

  function fieldError(field, place, text) {
    place.textContent = text;
    place.hidden = !text;
    if (text) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }

  function looksLike(head) {
    // What the first bytes of a file look like when they cannot start a JSON dataset (the
    // api makes the same check); null when they may. A dataset starts, after an optional
    // BOM and whitespace, with [ or {, or is gzip.
    const starts = (...magic) => magic.every((byte, i) => head[i] === byte);
    if (starts(0x1f, 0x8b)) return null;
    const magics = [
      [[0x25, 0x50, 0x44, 0x46], "un PDF"],
      [[0x50, 0x4b, 0x03, 0x04], "un ZIP (o un libro de Excel .xlsx)"],
      [[0x50, 0x4b, 0x05, 0x06], "un ZIP vacío"],
      [[0xd0, 0xcf, 0x11, 0xe0], "un libro de Excel antiguo (.xls) o un documento de Office"],
      [[0x89, 0x50, 0x4e, 0x47], "una imagen PNG"],
      [[0xff, 0xd8, 0xff], "una imagen JPEG"],
      [[0x47, 0x49, 0x46, 0x38], "una imagen GIF"],
      [[0x52, 0x61, 0x72, 0x21], "un archivo RAR"],
      [[0x37, 0x7a, 0xbc, 0xaf], "un archivo 7-Zip"],
      [[0xff, 0xfe], "texto UTF-16 (guárdelo como UTF-8)"],
      [[0xfe, 0xff], "texto UTF-16 (guárdelo como UTF-8)"],
    ];
    for (const [magic, name] of magics) if (starts(...magic)) return name;
    let at = starts(0xef, 0xbb, 0xbf) ? 3 : 0;
    while (at < head.length && [0x20, 0x09, 0x0d, 0x0a].includes(head[at])) at += 1;
    if (at >= head.length || head[at] === 0x5b || head[at] === 0x7b) return null;
    const text = new TextDecoder("utf-8").decode(head.subarray(at));
    const firstLine = text.split("\n", 1)[0];
    const delimited = /[,;\t]/.test(firstLine) && !firstLine.includes("{");
    if (text.startsWith("<")) return "XML o HTML";
    if (/^["\-0-9]|^(true|false|null)/.test(text) && !delimited) {
      return "un valor JSON suelto (un número, un texto, true, false o null)";
    }
    if (delimited) return "un CSV";
    if (text.includes("\u0000")) return "un archivo binario";
    return "texto que no es JSON";
  }

  async function notJson(file) {
    // The reason a file cannot be a dataset, read from its first bytes; "" when it may be.
    try {
      const head = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
      const looks = looksLike(head);
      return looks ? `El archivo no es JSON: parece ${looks}. Elija un archivo JSON con un arreglo de registros (también puede ir comprimido con gzip).` : "";
    } catch (_) {
      return ""; // unreadable here: the api decides
    }
  }

  function chosen(file, resumable = Boolean(file) && unfinished(file)) {
    // The file picked, and whether an earlier upload of it can go on.
    if (!file) return "";
    const note = resumable
      ? " Ya se empezó a enviar: con el mismo tipo de reporte y usuario, el envío sigue donde quedó."
      : "";
    return `Archivo elegido: ${file.name} (${size(file.size)}).${note}`;
  }

  function startedOver(file) {
    // The earlier upload is gone: the file goes again from its first byte, and the note
    // under the file no longer promises to go on where it stopped.
    say(STARTED_OVER, "");
    ui.elegido.textContent = chosen(file, false);
  }

  async function showFile() {
    const file = ui.archivo.files[0];
    ui.elegido.textContent = chosen(file);
    warn("");
    fieldError(ui.archivo, ui.archivoError, file ? await notJson(file) : "");
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

  async function submit(event) {
    event.preventDefault();
    const file = ui.archivo.files[0];
    const user = ui.usuario.value.trim();
    // Every field's message at once; focus goes to the first field to fix.
    const problems = [
      [ui.tipo, ui.tipoError, ui.tipo.value ? "" : "Elija un tipo de reporte."],
      [ui.usuario, ui.usuarioError, user ? "" : "Escriba su correo o usuario."],
      [ui.archivo, ui.archivoError, !file ? "Elija el archivo JSON con los datos."
        : !file.size ? "El archivo elegido está vacío." : await notJson(file)],
    ];
    for (const [field, place, text] of problems) fieldError(field, place, text);
    const first = problems.find(([, , text]) => text);
    if (first) {
      warn("Revise los campos marcados.");
      first[0].focus();
      return;
    }
    localStorage.setItem(USER_KEY, user);
    send(file, ui.tipo.value, user, ui.campoDialecto.hidden ? "" : ui.dialecto.value);
  }

  // ---- sending the file (XMLHttpRequest: the only API with upload progress) -------------

  function measure(total, from) {
    // The upload starts (or resumes: ``from``, the bytes the api had before this page sent
    // any). Its note is redrawn every second too: no byte moving means no progress event,
    // and the note must not keep showing the last speed as if all went well.
    stopMeasuring();
    const now = performance.now();
    meter = { total, from: from || 0, loaded: from || 0, startedAt: now, movedAt: now };
    meterTimer = window.setInterval(drawNote, 1000);
    drawNote();
  }

  function progressed(loaded) {
    if (!meter) return;
    if (loaded !== meter.loaded) meter.movedAt = performance.now();
    meter.loaded = loaded;
    drawNote();
  }

  function stopMeasuring() {
    // The note keeps how much was sent, without a speed that no longer means anything.
    window.clearInterval(meterTimer);
    if (meter) ui.subidaDetalle.textContent = `${size(meter.loaded)} de ${size(meter.total)}`;
    meter = null;
  }

  function drawNote() {
    if (meter) ui.subidaDetalle.textContent = uploadNote(meter, performance.now());
  }

  function uploadNote({ loaded, total, from, startedAt, movedAt }, now) {
    // Speed and time left, once there is enough of the upload to measure; the speed is the
    // mean since the start, so it falls while no byte moves, and after a few seconds of that
    // the note says so instead.
    const figures = `${size(loaded)} de ${size(total)}`;
    if (loaded >= total) return figures;
    const still = (now - movedAt) / 1000;
    if (still >= STALLED_S) return `${figures} · sin avance desde hace ${about(Math.floor(still))}`;
    const seconds = (now - startedAt) / 1000;
    const rate = (loaded - from) / seconds;
    if (seconds < 0.5 || !(rate > 0)) return figures;
    return `${figures} · ${size(rate)}/s · quedan ~${about((total - loaded) / rate)}`;
  }

  function send(file, reportType, userName, dialect) {
    stopFollowing();
    warn("");
    if (file.size >= TUS_FROM_BYTES && window.tus && tus.isSupported) {
      sendResumable(file, reportType, userName, dialect);
      return;
    }
    const data = new FormData();
    // Fields before the file: the api checks them before it reads a byte of the file.
    data.append("reportType", reportType);
    data.append("userName", userName);
    data.append("isLargeDataset", file.size >= LARGE_BYTES ? "true" : "false");
    if (dialect) data.append("csvDialect", dialect); // a report option, before the file too
    data.append("dataFile", file, file.name);

    const xhr = new XMLHttpRequest();
    upload = xhr;
    xhr.open("POST", `${API}/queue-multipart`);
    xhr.responseType = "json";
    if (apiKey) xhr.setRequestHeader("X-API-Key", apiKey);
    xhr.upload.onprogress = (event) => {
      if (!event.lengthComputable) return;
      // The request counts the form's fields too: the note speaks of the file chosen alone,
      // the share sent scaled to its size.
      const share = Math.min(1, event.loaded / event.total);
      setBar(ui.subida, ui.subidaTexto, 100 * share);
      progressed(Math.round(share * file.size));
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
    measure(file.size);
    xhr.send(data);
  }

  // ---- sending a large file through tus: resumable, chunk by chunk ----------------------

  function fileIdentity(file) {
    // The same file picked again after a reload: same name, size and modification time.
    return ["asyncReports", file.name, file.size, file.lastModified].join("|");
  }

  function unfinished(file) {
    // Whether this browser keeps an unfinished upload of this file (any form fields).
    const start = `${TUS_KEYS}${fileIdentity(file)}|`;
    try {
      return Object.keys(localStorage).some((key) => key.startsWith(start));
    } catch (_) {
      return false; // storage refused: nothing to resume
    }
  }

  function sendResumable(file, reportType, userName, dialect, restarted) {
    const metadata = {
      reportType,
      userName,
      isLargeDataset: file.size >= LARGE_BYTES ? "true" : "false",
      filename: file.name,
    };
    if (dialect) metadata.csvDialect = dialect; // report options travel as metadata too
    let jobUrl = "";
    let sending = null;
    // An upload resumes only into the same submission: same file and same form fields.
    const fingerprint = [fileIdentity(file), reportType, userName, dialect].join("|");
    const done = () => {
      if (upload === sending) upload = null;
      busy(false);
    };
    sending = new tus.Upload(file, {
      endpoint: new URL(`${API}/uploads`, window.location.href).href,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      metadata,
      headers: withKey({}),
      fingerprint: () => Promise.resolve(fingerprint),
      removeFingerprintOnSuccess: true,
      onProgress(loaded, total) {
        setBar(ui.subida, ui.subidaTexto, (100 * loaded) / total);
        progressed(loaded);
      },
      onAfterResponse(request, response) {
        const found = response.getHeader(JOB_URL);
        if (found) jobUrl = found;
        if (request.getMethod() === "HEAD" && gone(response.getStatus())) {
          // tus-js-client forgets it and creates a new upload: the page says why.
          startedOver(file);
        } else if (request.getMethod() === "HEAD" && response.getStatus() === 200) {
          // Resuming: the api says how much arrived (a retry after a cut, or a reload).
          const from = Number(response.getHeader("Upload-Offset")) || 0;
          const percent = (100 * from) / file.size;
          setBar(ui.subida, ui.subidaTexto, percent);
          measure(file.size, from);
          // A no-break space: the figure and its sign stay on one line.
          say(`Reanudando la subida desde el ${percents.format(Math.floor(percent))}\u00a0%.`, "");
        }
      },
      onSuccess() {
        done();
        ui.elegido.textContent = chosen(ui.archivo.files[0]); // nothing left to resume
        const jobId = jobUrl.split("/").pop();
        if (!jobId) {
          say("El archivo no fue aceptado.", "Failed");
          warn("El servicio no indicó el trabajo del archivo enviado. Intente de nuevo.");
          return;
        }
        setBar(ui.subida, ui.subidaTexto, 100);
        ui.subidaDetalle.textContent = `${size(file.size)} de ${size(file.size)}`;
        accepted({ jobId, status: "Queued", createdAt: new Date().toISOString() }, reportType, userName);
      },
      onError(error) {
        if (!navigator.onLine) {
          // tus-js-client does not retry offline: wait for the network, then go on.
          say("Sin conexión: el envío seguirá cuando vuelva la red.", "");
          window.addEventListener("online", () => {
            if (upload === sending) sending.start();
          }, { once: true });
          return;
        }
        const status = error && error.originalResponse ? error.originalResponse.getStatus() : 0;
        if (gone(status) && !restarted) {
          // Expired or deleted while being sent: once, the whole file again, as a new upload.
          sending.abort().catch(() => {});
          sendResumable(file, reportType, userName, dialect, true);
          startedOver(file);
          return;
        }
        done();
        tusFailed(error);
      },
    });
    upload = sending;
    showTracking();
    say(`Enviando ${file.name} (${size(file.size)})…`, "");
    busy(true);
    measure(file.size);
    resumeOrStart(sending);
  }

  async function resumeOrStart(sending) {
    // An upload of the same submission left unfinished (a reload, a closed tab) goes on
    // from where the api says it stands; otherwise a new one starts.
    let previous = [];
    try {
      previous = await sending.findPreviousUploads();
    } catch (_) {
      previous = []; // storage unreadable: start afresh
    }
    if (upload !== sending) return; // cancelled meanwhile
    if (previous.length) {
      previous.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
      sending.resumeFromPreviousUpload(previous[0]);
      say("Buscando lo que ya se envió de este archivo…", "");
    }
    sending.start();
  }

  function gone(status) {
    // The api no longer has the upload: it expired (410, or 404 from an older api) or was
    // deleted.
    return status === 404 || status === 410;
  }

  function tusFailed(error) {
    // The api's own words (its problem details) when it refused; else what happened.
    const response = error && error.originalResponse;
    const status = response ? response.getStatus() : 0;
    if (status === 401) askForKey();
    if (!status) {
      say("El envío se interrumpió.", "Failed");
      warn("Se perdió la conexión con el servicio durante el envío. Pulse «Generar reporte» "
        + "con el mismo archivo para continuar desde donde quedó.");
      return;
    }
    let body = null;
    try {
      body = JSON.parse(response.getBody());
    } catch (_) {
      body = null;
    }
    say("El archivo no fue aceptado.", "Failed");
    warn(problemText(body, status));
  }

  function cancelUpload() {
    if (!upload) return;
    if (upload instanceof XMLHttpRequest) {
      upload.abort();
      return;
    }
    // A tus upload: the api drops what arrived (termination), nothing is left to resume.
    const stopped = upload;
    upload = null;
    stopped.abort(true).catch(() => {});
    busy(false);
    say("Envío cancelado.", "");
  }

  function showTracking() {
    ui.seguimiento.hidden = false;
    ui.descarga.hidden = true;
    ui.error.hidden = true;
    ui.error.textContent = "";
    ui.rechazados.hidden = true;
    ui.subidaDetalle.textContent = "";
    setBar(ui.subida, ui.subidaTexto, 0);
    setBar(ui.proceso, ui.procesoTexto, 0);
  }

  function accepted(body, reportType, userName) {
    remember(body.jobId);
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
    // As people say it: 12 s, 3 min, 1 h 5 min (no-break spaces: a figure keeps its unit
    // on its line, "desde hace 6 s" wrapped before the "s" at 390 px).
    const whole = Math.max(1, Math.ceil(seconds));
    if (whole < 90) return `${whole}\u00a0s`;
    const minutes = Math.round(whole / 60);
    if (minutes < 90) return `${minutes}\u00a0min`;
    const rest = minutes % 60;
    return `${Math.floor(minutes / 60)}\u00a0h${rest ? ` ${rest}\u00a0min` : ""}`;
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
        const rejected = job.recordsRejected ? `; ${rejectedCount(job.recordsRejected)}` : "";
        return `Reporte listo${count}${rejected}. Ya puede descargarlo.`;
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

  function rejectedCount(count) {
    return count === 1 ? "1 registro rechazado" : `${numbers.format(count)} registros rechazados`;
  }

  function when(timestamp) {
    // A date as people read it, the same everywhere on the page: "6 dic, 07:28".
    if (!timestamp) return "";
    const date = new Date(timestamp);
    const thisYear = date.getFullYear() === new Date().getFullYear();
    return (thisYear ? dates : datesWithYear).format(date);
  }

  function reason(job) {
    // Why a job failed, as the service says it (a cancel or expiry says all in its state).
    if (job.status !== "Failed" || ["Cancelled", "Expired"].includes(job.outcome)) return "";
    return job.error || job.message || "Error desconocido.";
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
      const expiry = when(job.expiresAt); // when the report stops being downloadable
      ui.descargaDetalle.textContent = [job.fileName, size(job.fileSizeBytes),
        expiry && `disponible hasta ${expiry}`].filter(Boolean).join(" · ");
      ui.descarga.hidden = false;
    }
    if (job.status === "Completed" && job.recordsRejected) {
      const one = job.recordsRejected === 1;
      ui.rechazados.textContent = one
        ? "Un registro fue rechazado y no está en el reporte: el archivo errores.csv del ZIP dice cuál y por qué."
        : `${numbers.format(job.recordsRejected)} registros fueron rechazados y no están en el reporte: `
          + "el archivo errores.csv del ZIP dice cuáles y por qué.";
      ui.rechazados.hidden = false;
    }
    // A cancelled job's state says all there is; a failed one's error says what went wrong.
    const why = reason(job);
    if (why) {
      ui.error.textContent = why;
      ui.error.hidden = false;
    }
  }

  // ---- recent jobs: the history (GET /jobs), newest first --------------------------------

  function tell(text) {
    // What came of an action on the list (a cancel), in a live region of its own.
    ui.avisoTrabajos.textContent = text;
    ui.avisoTrabajos.hidden = !text;
  }

  function mine() {
    // The ids of the jobs this browser sent, newest first.
    try {
      const ids = JSON.parse(localStorage.getItem(MINE_KEY) || "[]");
      return Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : [];
    } catch (_) {
      return []; // storage refused or spoiled: nothing remembered
    }
  }

  function keepMine(ids) {
    try {
      localStorage.setItem(MINE_KEY, JSON.stringify(ids.slice(0, MINE_MAX)));
    } catch (_) {
      // storage refused: the list shows what this page sent until it is closed
    }
  }

  function remember(jobId) {
    keepMine([jobId, ...mine().filter((id) => id !== jobId)]);
  }

  async function readJob(jobId) {
    // One job as the status shows it; an expired one as it ended; null when the service
    // does not have it (any more), or it is another key's.
    try {
      return (await getJson(`${API}/status/${encodeURIComponent(jobId)}`)).body;
    } catch (error) {
      if (error.status === 410 && error.body && error.body.jobId) return error.body;
      if (error.status === 404) return null;
      throw error;
    }
  }

  function settled(job) {
    // A job whose row can no longer change but by expiring, until it does.
    if (!job || !FINAL.has(job.status)) return false;
    return job.status !== "Completed" || !job.expiresAt || new Date(job.expiresAt) > new Date();
  }

  async function refreshJobs(everyJob = true) {
    // The jobs this browser sent, each read by its status; on the periodic refresh only the
    // ones that may have changed.
    const round = ++refreshing;
    const ids = mine().slice(0, wanted);
    const known = new Map(jobs.map((job) => [job.jobId, job]));
    const asked = ids.filter((id) => everyJob || !settled(known.get(id)));
    let read = [];
    try {
      read = await Promise.all(asked.map(readJob));
    } catch (error) {
      if (round !== refreshing) return;
      ui.sinTrabajos.textContent = `No se pudo consultar los trabajos: ${error.message}`;
      ui.sinTrabajos.hidden = false;
      return;
    }
    if (round !== refreshing) return;
    // Read again, once: a job sent while the list was read is remembered by now.
    let listed = mine();
    const gone = new Set();
    asked.forEach((id, i) => {
      if (read[i]) known.set(id, { ...known.get(id), ...read[i] });
      else {
        known.delete(id);
        gone.add(id);
      }
    });
    // Without a key a job the service no longer has is forgotten; with one it may be
    // another key's (the key was changed), and is kept for when that key is back.
    if (gone.size && !apiKey) {
      listed = listed.filter((id) => !gone.has(id));
      keepMine(listed);
    }
    // A job sent while the list was read is kept: it was listed on its submission.
    for (const job of jobs) {
      if (!known.has(job.jobId) && !gone.has(job.jobId)) known.set(job.jobId, job);
    }
    jobs = listed.slice(0, wanted).map((id) => known.get(id)).filter(Boolean);
    ui.mas.hidden = listed.length <= wanted || wanted >= MINE_MAX;
    ui.sinTrabajos.textContent = "Todavía no hay trabajos enviados desde este navegador.";
    renderJobs();
  }

  function showMore() {
    wanted = Math.min(MINE_MAX, wanted + PAGE);
    refreshJobs();
  }

  function renderJobs() {
    const rows = jobs.map(row);
    ui.trabajos.replaceChildren(...rows);
    ui.sinTrabajos.hidden = rows.length > 0;
  }

  async function cancelJob(job, created) {
    const name = `${typeName(job.reportType) || "trabajo"} de ${created}`;
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
    const created = when(job.createdAt);
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
      const expiry = when(job.expiresAt);
      if (expiry) {
        const note = document.createElement("span");
        note.className = "nota";
        note.textContent = `hasta ${expiry}`;
        actions.append(note);
      }
    } else if (!FINAL.has(job.status)) {
      const which = `el trabajo ${typeName(job.reportType)} de ${created}`;
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
    const details = [];
    if (job.status === "Completed" && job.recordsRejected) {
      details.push([`${rejectedCount(job.recordsRejected)} (ver errores.csv)`, "nota"]);
    }
    const why = reason(job);
    if (why) details.push([why, "motivo"]);
    for (const [text, className] of details) {
      const line = document.createElement("span");
      line.className = className;
      line.textContent = text;
      status.append(line);
    }
    tr.append(
      cell("Creado", created, "creado"),
      cell("Tipo", typeName(job.reportType)),
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
      if (document.visibilityState === "visible") refreshJobs(false);
    }, REFRESH_MS);
  }

  start();
})();
