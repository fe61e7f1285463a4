"""The seed's Python client, made runnable: submit a JSON file, wait, download the ZIP.

    python examples/cliente.py datos.json FacturacionMasiva ana@empresa.com [BASE_URL]

Only change from the seed: requests needs absolute URLs, so every path is joined to
BASE_URL (default http://127.0.0.1:8000), and the download is saved to disk.
"""

from __future__ import annotations

import sys
import time

import requests

BASE_URL = "http://127.0.0.1:8000"


def enviar_reporte_grande(archivo_json_path: str, tipo_reporte: str, usuario: str) -> str:
    """Queue the file as multipart, as the seed does; the job id."""
    with open(archivo_json_path, "rb") as f:
        files = {"dataFile": ("datos.json", f, "application/json")}
        data = {"reportType": tipo_reporte, "userName": usuario, "isLargeDataset": "true"}
        response = requests.post(
            f"{BASE_URL}/api/AsyncReports/queue-multipart", files=files, data=data, timeout=600
        )
        response.raise_for_status()
        result = response.json()
        return str(result["jobId"])


def monitorear_trabajo(job_id: str, intervalo: float = 5) -> str:
    """Poll until Completed (the download URL) or Failed (an exception)."""
    while True:
        response = requests.get(f"{BASE_URL}/api/AsyncReports/status/{job_id}", timeout=30)
        status = response.json()
        print(f"Estado: {status['status']} - {status['message']}")
        if status["status"] == "Completed":
            return str(status["downloadUrl"])
        if status["status"] == "Failed":
            raise Exception(f"Error: {status['message']}")
        time.sleep(intervalo)


def descargar(download_url: str, destino: str) -> None:
    """Save the ZIP."""
    with requests.get(f"{BASE_URL}{download_url}", stream=True, timeout=600) as response:
        response.raise_for_status()
        with open(destino, "wb") as out:
            for chunk in response.iter_content(1 << 20):
                out.write(chunk)


if __name__ == "__main__":
    if len(sys.argv) > 4:
        BASE_URL = sys.argv[4].rstrip("/")
    job = enviar_reporte_grande(sys.argv[1], sys.argv[2], sys.argv[3])
    print("Trabajo encolado:", job)
    url = monitorear_trabajo(job, intervalo=float(sys.argv[5]) if len(sys.argv) > 5 else 5)
    descargar(url, "reporte.zip")
    print("Descargado: reporte.zip")
