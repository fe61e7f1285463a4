"""The ``async-reports`` command: submit, follow and download reports from a terminal.

Progress and messages go to stderr; stdout gets one result (a job id, a saved file's path,
or with ``--json`` the service's JSON), so the command composes in scripts.

Every word it prints is Spanish, argparse's own included (see argparse_es).

Exit codes:
  0    done
  1    the job ended without a report (Failed or Cancelled)
  2    wrong usage: an unknown option or command, a service address (--url) without
       http:// or https:// or host, or a local file that cannot be read or written
  3    the service rejected the request (invalid field, unknown report type, too large,
       missing or wrong API key, over the submission limit)
  4    no such job, or its report expired
  5    the service cannot be reached (no such host, connection refused, timeout, TLS),
       is unavailable, is not at that address (something else answers there), or the
       download kept breaking
  6    --timeout passed before the job finished
  130  interrupted (Ctrl-C); the job goes on in the service, and an upload left
       unfinished is continued by ``submit FILE --resume`` (so is one given up with 5)
  141  a write the command does not guard met a closed pipe (a safety net, as a
       process ended by SIGPIPE); its own result, messages and progress bars drop
       quietly what a closed pipe refuses, so ``status X | head -1`` keeps its exit code
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from enum import IntEnum
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from . import pipes
from .argparse_es import Parser
from .client import DEFAULT_URL, TUS_THRESHOLD_BYTES, ReportsClient
from .errors import (
    ApiError,
    DownloadFailed,
    InvalidAddress,
    JobExpired,
    JobFailed,
    JobNotFound,
    NotAReportsService,
    ReportsClientError,
    ServiceUnavailable,
    WaitTimeout,
)
from .eta import estimate
from .models import Job, JobStatus, _time
from .progress import ProgressBar, human_bytes
from .table import Column, fit
from .tus import UploadNotice
from .version import __version__
from .visible import json_text, multiline, shown

URL_ENV = "ASYNC_REPORTS_URL"
KEY_ENV = "ASYNC_REPORTS_API_KEY"
USER_ENV = "ASYNC_REPORTS_USER"

_LABELS: dict[str, str] = {
    JobStatus.QUEUED: "En cola",
    JobStatus.PROCESSING: "Procesando",
    JobStatus.COMPLETED: "Completado",
    JobStatus.FAILED: "Con error",
    JobStatus.CANCELLED: "Cancelado",
    JobStatus.EXPIRED: "Expirado",
}


class Exit(IntEnum):
    """The command's exit codes (see the module's docstring)."""

    OK = 0
    JOB_FAILED = 1
    USAGE = 2
    REJECTED = 3
    NOT_FOUND = 4
    UNAVAILABLE = 5
    TIMEOUT = 6
    INTERRUPTED = 130
    CLOSED_PIPE = 141


class Console:
    """Where the command writes: results to stdout, progress and messages to stderr."""

    def __init__(self, json_output: bool, quiet: bool, out: TextIO, err: TextIO) -> None:
        self.json_output = json_output
        self.quiet = quiet
        self.out = out
        self.err = err
        self.bars: list[ProgressBar] = []
        self.job_id: str | None = None
        #: Whether an upload was left unfinished that ``submit --resume`` continues.
        self.resume_hint = False

    def bar(self, label: str) -> ProgressBar:
        """A new progress bar (silent with --quiet)."""
        bar = ProgressBar(label, self.err, enabled=not self.quiet)
        self.bars.append(bar)
        return bar

    def info(self, text: str) -> None:
        """A message for the person at the terminal, on one line (see ``visible``)."""
        if not self.quiet:
            self._end_bars()
            pipes.write(self.err, shown(text) + "\n")

    def error(self, text: str) -> None:
        """A message saying what went wrong (even with --quiet), on one line."""
        self._end_bars()
        pipes.write(self.err, f"error: {shown(text)}\n")

    def result(self, text: str, data: Any) -> None:
        """The command's result: ``text``, or ``data`` as JSON with --json (a reader that
        stops early, as ``head`` does, is no error); no control character reaches the
        terminal raw."""
        text = json_text(data) if self.json_output else multiline(text)
        pipes.write(self.out, text + "\n")

    def _end_bars(self) -> None:
        for bar in self.bars:
            if bar.live and not bar.closed:
                bar.close()


def describe(job: Job) -> str:
    """A job's state in a few words, with the service's estimate of how long it has left."""
    label = _label(job)
    if job.status == JobStatus.QUEUED and job.queue_position:
        label = f"{label} (posición {job.queue_position})"
    elif job.status == JobStatus.PROCESSING:
        label = f"{label} · {_records(job.progress.records_processed)}"
    elif job.status == JobStatus.COMPLETED and job.records_processed is not None:
        label = f"{label} · {_records(job.records_processed)}"
    ahead = estimate(job)
    return f"{label} · {ahead}" if ahead else label


def _label(job: Job) -> str:
    """Queued, Processing, or how the job ended (Cancelado, Expirado: not Con error)."""
    shown = job.outcome or job.status
    return _LABELS.get(shown, shown)


def _records(count: int) -> str:
    return "1 registro" if count == 1 else f"{_number(count)} registros"


# -- commands -----------------------------------------------------------------------------


def cmd_submit(client: ReportsClient, args: argparse.Namespace, ui: Console) -> Exit:
    """Send a dataset; with --wait or --output, follow it and download the report."""
    path = Path(args.file)
    if not path.is_file():
        ui.error(f"no existe el archivo {path}")
        return Exit.USAGE
    if not args.user:
        ui.error(f"falta --user (o la variable {USER_ENV})")
        return Exit.USAGE
    if args.resume and args.upload_mode == "multipart":
        ui.error("--resume continúa una carga por tus: no va con --no-tus")
        return Exit.USAGE
    fields = {"large": args.large, "options": args.options, "callback_url": args.callback}
    earlier = client.unfinished_upload(path, args.type, args.user, **fields)
    if earlier and not args.resume:
        ui.info(
            "Hay una carga interrumpida de este archivo; se empieza una nueva "
            "(con --resume se continúa la anterior)."
        )
    bars = [ui.bar("Envío")]

    def notice(what: UploadNotice) -> None:
        if what.kind == "resumed":
            ui.info(
                f"Reanudando desde {what.percent} % ({human_bytes(what.offset)} de "
                f"{human_bytes(what.total)} ya están en el servicio)."
            )
        else:
            ui.info(what.message + ".")
        if bars[-1].closed:
            bars.append(ui.bar("Envío"))  # the message ended the bar's line

    def progress(done: int, total: int | None) -> None:
        bars[-1].bytes(done, total)

    try:
        submission = client.submit_file(
            path,
            args.type,
            args.user,
            on_progress=progress,
            upload_mode=args.upload_mode,
            resume=args.resume,
            on_notice=notice,
            **fields,
        )
    except (KeyboardInterrupt, ServiceUnavailable):
        if client.unfinished_upload(path, args.type, args.user, **fields):
            ui.resume_hint = True
        raise
    bars[-1].close()
    ui.job_id = submission.job_id
    ui.info(f"Trabajo en cola: {submission.job_id}")
    if not (args.wait or args.output):
        ui.result(submission.job_id, submission.raw)
        return Exit.OK
    return _finish(client, submission.job_id, args, ui)


def cmd_wait(client: ReportsClient, args: argparse.Namespace, ui: Console) -> Exit:
    """Follow a job until it finishes; with --output, download its report."""
    ui.job_id = args.job
    if args.command == "download" and not args.output:
        args.output = "."
    return _finish(client, args.job, args, ui)


def _finish(client: ReportsClient, job_id: str, args: argparse.Namespace, ui: Console) -> Exit:
    processing = ui.bar("Procesamiento")

    def show(job: Job) -> None:
        processing.update(job.percent / 100, describe(job))

    try:
        job = client.wait(job_id, timeout=args.timeout, on_update=show, live=not args.poll)
    except (JobFailed, WaitTimeout) as exc:
        processing.close(describe(exc.job))
        raise
    processing.close(describe(job))
    if not args.output:
        ui.info(f"Reporte listo: {client.http.base_url.join(job.download_url or '')}")
        ui.result(job.job_id, dict(job.raw))
        return Exit.OK
    download = ui.bar("Descarga")
    saved = client.download(job, args.output, on_progress=download.bytes)
    download.close()
    ui.info(f"Reporte guardado en {saved}")
    ui.result(str(saved), {**job.raw, "savedTo": str(saved)})
    return Exit.OK


def cmd_status(client: ReportsClient, args: argparse.Namespace, ui: Console) -> Exit:
    """Show a job's status."""
    job = client.status(args.job)
    rows = [
        ("Trabajo", job.job_id),
        ("Estado", f"{describe(job)} ({job.percent:.0f} %)"),
        ("Mensaje", job.message),
        ("Tipo", job.report_type),
        ("Usuario", job.user_name),
        ("Creado", _when(job.created_at)),
        ("Terminado", _when(job.completed_at)),
        ("Archivo", _file(job)),
        ("Descarga", str(client.http.base_url.join(job.download_url)) if job.download_url else ""),
        ("Expira", _when(job.expires_at)),
        ("Error", job.error or ""),
    ]
    ui.result("\n".join(f"{k + ':':<11} {shown(v)}" for k, v in rows if v), dict(job.raw))
    return Exit.JOB_FAILED if job.status == JobStatus.FAILED else Exit.OK


def cmd_cancel(client: ReportsClient, args: argparse.Namespace, ui: Console) -> Exit:
    """Cancel a queued or running job."""
    job = client.cancel(args.job)
    ui.result(f"Trabajo {shown(job.job_id)} cancelado: {shown(job.message)}", dict(job.raw))
    return Exit.OK


def cmd_list(client: ReportsClient, args: argparse.Namespace, ui: Console) -> Exit:
    """List queued and processing jobs; with --all, the job history."""
    if args.all:
        return _history(client, args, ui)
    if args.type or args.status or args.limit is not None:
        ui.error("--type, --status y --limit van con --all (el historial)")
        return Exit.USAGE
    jobs = client.active_jobs(args.user)
    columns = [
        Column("TRABAJO", least=None),
        Column("ESTADO", least=26),
        Column("AVANCE", least=None, right=True, drop=1),
        Column("TIPO", drop=2),
        Column("USUARIO", drop=3),
    ]
    rows = [
        [job.job_id, _state(job), f"{job.percent:.0f} %", job.report_type, job.user_name]
        for job in jobs
    ]
    lines = fit(columns, rows, _terminal_width())
    text = "\n".join(lines) if jobs else "No hay trabajos en cola ni en proceso."
    ui.result(text, [dict(job.raw) for job in jobs])
    return Exit.OK


#: Jobs ``list --all`` shows unless --limit says otherwise.
HISTORY_LIMIT = 50


def _history(client: ReportsClient, args: argparse.Namespace, ui: Console) -> Exit:
    """The job history, newest first: one past the limit is read to say whether more exist."""
    limit = args.limit or HISTORY_LIMIT
    found = client.jobs(
        user_name=args.user,
        report_type=args.type,
        status=args.status,
        page_size=min(limit + 1, 200),
    )
    jobs = list(islice(found, limit + 1))
    more, jobs = len(jobs) > limit, jobs[:limit]
    columns = [
        Column("TRABAJO", least=None),
        Column("CREADO", least=None, drop=2),
        Column("ESTADO", least=26),
        Column("REGISTROS", least=None, right=True, drop=3),
        Column("TIPO", drop=4),
        Column("USUARIO", drop=5),
    ]
    rows = [
        [
            job.job_id,
            _short_when(job.created_at),
            _state(job, percent=True),
            _count(job),
            job.report_type,
            job.user_name,
        ]
        for job in jobs
    ]
    filtered = args.user or args.type or args.status
    empty = "Ningún trabajo coincide." if filtered else "No hay trabajos en el historial."
    ui.result(
        "\n".join(fit(columns, rows, _terminal_width())) if jobs else empty,
        [dict(job.raw) for job in jobs],
    )
    if more:
        ui.info(f"Hay más trabajos: se muestran los {limit} más recientes (vea --limit).")
    return Exit.OK


def _state(job: Job, percent: bool = False) -> str:
    """A job's state in a list, kept short: its place in the queue (or, with ``percent``,
    how far it has got) and the estimate of an active job; records have their column."""
    label = _label(job)
    if job.status == JobStatus.QUEUED and job.queue_position:
        label = f"{label} ({job.queue_position}.º)"
    elif job.status == JobStatus.PROCESSING and percent:
        label = f"{label} {job.percent:.0f} %"
    ahead = estimate(job)
    return f"{label} · {ahead}" if ahead else label


def _count(job: Job) -> str:
    """Records processed so far, or in all once the job completed."""
    if job.status == JobStatus.PROCESSING:
        return _number(job.progress.records_processed)
    return "" if job.records_processed is None else _number(job.records_processed)


def _number(count: int) -> str:
    return f"{count:,}".replace(",", ".")


def _terminal_width() -> int:
    """Columns of the terminal (COLUMNS when set; 80 when stdout is not a terminal)."""
    return shutil.get_terminal_size().columns


#: How each webhook state reads.
_WEBHOOK_STATES = {
    "none": "sin webhook",
    "waiting": "esperando a que el trabajo termine",
    "pending": "reintentando",
    "delivered": "entregado",
    "failed": "fallido (sin más intentos)",
}


def cmd_webhook(client: ReportsClient, args: argparse.Namespace, ui: Console) -> Exit:
    """Show a job's completion webhook: where it goes, its state, every attempt."""
    hook = client.webhook(args.job)
    lines = [
        f"Webhook de {hook.job_id}: {_WEBHOOK_STATES.get(hook.state, hook.state)}",
    ]
    if hook.callback_url:
        lines.append(f"  URL: {shown(hook.callback_url)}")
    if hook.event:
        lines.append(f"  evento: {shown(hook.event)}")
    for attempt in hook.attempts:
        answer = f"HTTP {attempt['statusCode']}" if attempt.get("statusCode") else "sin respuesta"
        error = f"  {shown(str(attempt['error']))}" if attempt.get("error") else ""
        lines.append(
            f"  intento {attempt['attempt']}: {_when(_time(attempt.get('at')))}  {answer}  "
            f"{attempt.get('durationMs', 0)} ms{error}"
        )
    if hook.next_attempt_at:
        lines.append(f"  próximo intento: {_when(hook.next_attempt_at)}")
    ui.result("\n".join(lines), {
        "jobId": hook.job_id, "callbackUrl": hook.callback_url, "state": hook.state,
        "event": hook.event, "attempts": hook.attempts,
        "nextAttemptAt": hook.next_attempt_at.isoformat() if hook.next_attempt_at else None,
    })  # fmt: skip
    return Exit.OK


def cmd_types(client: ReportsClient, args: argparse.Namespace, ui: Console) -> Exit:
    """List the report types the service builds."""
    types = client.report_types()
    width = max((len(shown(t.name)) for t in types), default=0)
    text = "\n".join(f"{shown(t.name):<{width}}  {shown(t.description)}" for t in types)
    ui.result(text, [{"name": t.name, "description": t.description} for t in types])
    return Exit.OK


def _when(moment: Any) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _short_when(moment: Any) -> str:
    """Day, month and time: the history keeps jobs for a day or so, the year adds nothing."""
    return moment.astimezone().strftime("%d/%m %H:%M") if moment else ""


def _file(job: Job) -> str:
    if not job.file_name:
        return ""
    size = f" ({human_bytes(job.file_size_bytes)})" if job.file_size_bytes is not None else ""
    return job.file_name + size


# -- arguments -----------------------------------------------------------------------------

_JOB_HELP = "id del trabajo (el que imprime submit)"

_MAIN_EPILOG = f"""\
ejemplos:
  async-reports types
  async-reports submit facturas.json -t FacturacionMasiva -u ana@empresa.com \\
      --wait -o reporte.zip
  JOB=$(async-reports submit facturas.json -t FacturacionMasiva -u ana -q)
  async-reports status "$JOB"
  async-reports list --all --status Failed
  async-reports --url http://reportes.empresa.com:8000 list

Cada comando tiene su ayuda: async-reports submit -h

variables de entorno:
  {URL_ENV}       dirección del servicio (como --url)
  {KEY_ENV}   clave de API (como --api-key)
  {USER_ENV}      usuario de submit (como --user)

códigos de salida:
  0    listo
  1    el trabajo terminó sin reporte (con error o cancelado)
  2    uso incorrecto, una dirección --url sin http:// o https://, o un archivo
       local que no se puede leer o escribir
  3    el servicio rechazó la solicitud (campo, tipo, tamaño, clave de API)
  4    no existe el trabajo, o su reporte expiró
  5    no se llega al servicio (servidor desconocido, conexión rechazada, sin
       respuesta, TLS), no está disponible, la dirección no es la de un
       servicio Async Reports, o la descarga se cortó una y otra vez
  6    se agotó --timeout
  130  interrumpido (Ctrl-C); el trabajo sigue en el servicio

Una tubería que se cierra antes de leerlo todo (| head) no es un error: no
hay mensaje y el código de salida es el del comando."""

_EPILOGS = {
    "submit": """\
ejemplos:
  async-reports submit facturas.json -t FacturacionMasiva -u ana@empresa.com
  async-reports submit facturas.json.gz -t FacturacionMasiva \\
      -u ana@empresa.com --wait -o reportes/
  async-reports submit datos.json -t Tabular -u ana@empresa.com \\
      --option csvDialect=excel-es
  async-reports submit facturas.json -t FacturacionMasiva -u ana@empresa.com \\
      --callback https://erp.empresa.com/avisos/reportes

Sin --wait ni --output imprime el id del trabajo y termina.

Los archivos de más de 32 MB se envían por tus, en partes: tras un corte de
conexión o un reinicio del servicio la carga sigue sola desde donde quedó. Si
el comando se interrumpe (Ctrl-C, un cierre), repítalo con --resume:
  async-reports submit grande.json -t FacturacionMasiva -u ana@empresa.com \\
      --resume
La carga a medias se recuerda en $XDG_STATE_HOME/async-reports/uploads.json
(~/.local/state/async-reports/uploads.json sin esa variable).""",
    "wait": """\
ejemplos:
  async-reports wait JOB_ID
  async-reports wait JOB_ID -o reporte.zip --timeout 600
  async-reports download JOB_ID    # en la carpeta actual, con su nombre
  async-reports download JOB_ID -o reportes/""",
    "status": """\
ejemplos:
  async-reports status JOB_ID
  async-reports status JOB_ID --json

Termina con 1 si el trabajo terminó con error.""",
    "cancel": """\
ejemplos:
  async-reports cancel JOB_ID""",
    "list": """\
ejemplos:
  async-reports list
  async-reports list --user ana@empresa.com
  async-reports list --all
  async-reports list --all --type FacturacionMasiva --status Failed --limit 20

La lista se ajusta al ancho de la terminal (COLUMNS si está definida).""",
    "webhook": """\
ejemplos:
  async-reports webhook JOB_ID""",
    "types": """\
ejemplos:
  async-reports types
  async-reports types --json""",
}


def _common(suppress: bool) -> argparse.ArgumentParser:
    """Options taken before or after the command (after it, they override)."""
    default: Any = argparse.SUPPRESS if suppress else None
    parser = Parser(add_help=False)
    parser.add_argument(
        "--url",
        metavar="URL",
        default=default if suppress else os.environ.get(URL_ENV, DEFAULT_URL),
        help=f"dirección del servicio, con http:// o https:// (variable {URL_ENV}; "
        f"por omisión {DEFAULT_URL})",
    )
    parser.add_argument(
        "--api-key",
        metavar="CLAVE",
        default=default if suppress else os.environ.get(KEY_ENV),
        help=f"clave de API, si el servicio la pide (mejor en la variable {KEY_ENV})",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default if suppress else False,
        help="escribe el resultado como JSON",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default if suppress else False,
        help="sin barras de progreso ni mensajes (solo errores y el resultado)",
    )
    return parser


def _option(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"se esperaba NOMBRE=VALOR y se recibió {text!r}")
    return name, value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(
            f"debe ser un número de segundos mayor que cero, no {text!r}"
        )
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"debe ser un número entero mayor que cero, no {text!r}")
    return value


def _follow_options(parser: argparse.ArgumentParser, after_submit: bool) -> None:
    """-o, --timeout and --poll: for submit they count with --wait or -o, which wait."""
    waits = "con --wait o -o, " if after_submit else ""
    parser.add_argument(
        "-o",
        "--output",
        metavar="RUTA",
        help=("espera a que termine y " if after_submit else "")
        + "guarda el reporte ZIP en RUTA: un archivo, o una carpeta si termina en /",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SEGUNDOS",
        help=f"{waits}espera a lo más SEGUNDOS a que el trabajo termine (por omisión, sin límite)",
    )
    parser.add_argument(
        "--poll",
        action="store_true",
        help=f"{waits}consulta el estado a intervalos en vez de recibirlo en vivo",
    )


def _command(
    commands: Any, name: str, common: argparse.ArgumentParser, help: str, **kwargs: Any
) -> argparse.ArgumentParser:
    """A subcommand with the common options, its description and its examples."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        parents=[common],
        help=help,
        description=textwrap.fill(help[0].upper() + help[1:] + ".", 79),
        epilog=_EPILOGS[name],
        **kwargs,
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``async-reports [opciones] COMANDO ...``."""
    common = _common(suppress=True)
    parser = Parser(
        prog="async-reports",
        description="Genera reportes de grandes conjuntos de datos JSON con Async Reports.",
        epilog=_MAIN_EPILOG,
        parents=[_common(suppress=False)],
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="muestra la versión y termina",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMANDO", parser_class=Parser
    )

    submit = _command(commands, "submit", common, "envía un archivo de datos")
    submit.add_argument("file", metavar="ARCHIVO", help="el conjunto de datos (.json o .json.gz)")
    submit.add_argument(
        "-t",
        "--type",
        required=True,
        metavar="TIPO",
        help="tipo de reporte (los disponibles: async-reports types)",
    )
    submit.add_argument(
        "-u",
        "--user",
        metavar="USUARIO",
        default=os.environ.get(USER_ENV),
        help=f"usuario o correo de quien lo pide (variable {USER_ENV})",
    )
    submit.add_argument(
        "--large",
        action="store_true",
        help="lo procesa en la cola de los conjuntos grandes (el servicio ya lleva allí los "
        "que pasan de su umbral)",
    )
    submit.add_argument(
        "--option",
        dest="options",
        type=_option,
        action="append",
        metavar="NOMBRE=VALOR",
        help="opción del tipo de reporte, como csvDialect=excel-es (repetible)",
    )
    submit.add_argument(
        "--callback",
        metavar="URL",
        help="URL a la que el servicio avisa (webhook firmado) cuando el trabajo termina",
    )
    submit.add_argument(
        "--resume",
        action="store_true",
        help="continúa la carga interrumpida de este mismo archivo (con el mismo tipo, "
        "usuario y opciones) desde donde la dejó el servicio; si no hay una, lo envía "
        "desde el principio",
    )
    mode = submit.add_mutually_exclusive_group()
    mode.add_argument(
        "--tus",
        dest="upload_mode",
        action="store_const",
        const="tus",
        default="auto",
        help=f"envía por tus (reanudable) aunque el archivo no pase de "
        f"{human_bytes(TUS_THRESHOLD_BYTES)}; por omisión, solo los que pasan de ese tamaño",
    )
    mode.add_argument(
        "--no-tus",
        dest="upload_mode",
        action="store_const",
        const="multipart",
        help="envía el archivo en una sola solicitud aunque sea grande (sin reanudar)",
    )
    submit.add_argument(
        "-w",
        "--wait",
        action="store_true",
        help="espera a que el trabajo termine y muestra el enlace de su reporte",
    )
    _follow_options(submit, after_submit=True)

    wait = _command(
        commands,
        "wait",
        common,
        "espera a que un trabajo termine; con -o descarga su reporte ('download' lo descarga "
        "siempre, sin -o en la carpeta actual)",
        aliases=["download"],
    )
    wait.add_argument("job", metavar="TRABAJO", help=_JOB_HELP)
    _follow_options(wait, after_submit=False)

    status = _command(commands, "status", common, "muestra el estado de un trabajo")
    status.add_argument("job", metavar="TRABAJO", help=_JOB_HELP)

    cancel = _command(commands, "cancel", common, "cancela un trabajo en cola o en proceso")
    cancel.add_argument("job", metavar="TRABAJO", help=_JOB_HELP)

    listing = _command(
        commands, "list", common, "trabajos en cola y en proceso; con --all, el historial"
    )
    listing.add_argument("-u", "--user", metavar="USUARIO", help="solo los de este usuario")
    listing.add_argument(
        "-a", "--all", action="store_true", help="el historial: también los terminados"
    )
    listing.add_argument(
        "-t", "--type", metavar="TIPO", help="solo los de este tipo de reporte (con --all)"
    )
    states = [state.value for state in JobStatus]
    listing.add_argument(
        "-s",
        "--status",
        choices=states,
        metavar="ESTADO",
        help=f"solo los que están o terminaron así: {', '.join(states)} (con --all; "
        "Failed incluye los cancelados y expirados)",
    )
    listing.add_argument(
        "-n",
        "--limit",
        type=_positive,
        metavar="N",
        help=f"muestra a lo más N trabajos (con --all; por omisión {HISTORY_LIMIT})",
    )

    hook = _command(commands, "webhook", common, "muestra el webhook de un trabajo y sus intentos")
    hook.add_argument("job", metavar="TRABAJO", help=_JOB_HELP)

    _command(commands, "types", common, "tipos de reporte disponibles")
    return parser


_COMMANDS = {
    "submit": cmd_submit,
    "wait": cmd_wait,
    "download": cmd_wait,
    "status": cmd_status,
    "cancel": cmd_cancel,
    "list": cmd_list,
    "webhook": cmd_webhook,
    "types": cmd_types,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; its exit code."""
    try:
        return _run(argv)
    finally:
        # Out now, where a closed pipe is dealt with, not in the interpreter's exit.
        pipes.flush(sys.stdout)
        pipes.flush(sys.stderr)


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "options", None) is not None:
        args.options = dict(args.options)
    ui = Console(args.json, args.quiet, sys.stdout, sys.stderr)
    try:
        with ReportsClient(args.url, api_key=args.api_key) as client:
            return int(_COMMANDS[args.command](client, args, ui))
    except KeyboardInterrupt:
        follow = f" Siga el trabajo con: async-reports status {ui.job_id}" if ui.job_id else ""
        ui.error(f"interrumpido.{follow}{_RESUME_HINT if ui.resume_hint else ''}")
        return Exit.INTERRUPTED
    except ReportsClientError as exc:
        return _failed(exc, ui)
    except BrokenPipeError:
        # A safety net: the command's own result, messages and bars drop quietly what a
        # closed pipe refuses, so only a write they do not guard gets here.
        pipes.discard(sys.stdout)
        return Exit.CLOSED_PIPE
    except OSError as exc:
        ui.error(f"archivo local: {exc}")
        return Exit.USAGE


_RESUME_HINT = (
    " La carga quedó a medias en el servicio: repita el comando con --resume para "
    "continuarla desde donde quedó."
)


def _failed(exc: ReportsClientError, ui: Console) -> Exit:
    """Say what went wrong; the exit code for it."""
    if isinstance(exc, InvalidAddress | NotAReportsService):
        ui.error(f"{exc} La dirección viene de --url o de la variable {URL_ENV}.")
    else:
        ui.error(f"{exc}{_RESUME_HINT if ui.resume_hint else ''}")
    if isinstance(exc, InvalidAddress):
        return Exit.USAGE
    if isinstance(exc, JobFailed):
        return Exit.JOB_FAILED
    if isinstance(exc, JobNotFound | JobExpired):
        return Exit.NOT_FOUND
    if isinstance(exc, WaitTimeout):
        return Exit.TIMEOUT
    if isinstance(exc, ServiceUnavailable | DownloadFailed):
        return Exit.UNAVAILABLE
    if isinstance(exc, ApiError) and exc.status < 500:
        return Exit.REJECTED
    return Exit.UNAVAILABLE


if __name__ == "__main__":
    sys.exit(main())
