// The seed's JavaScript client, made runnable with Node 20+ (fetch, FormData, Blob built in):
//   node examples/cliente.mjs datos.json FacturacionMasiva ana@empresa.com [BASE_URL] [POLL_MS]
// Only changes from the seed: absolute URLs (Node's fetch needs them) and the file read
// from disk with fs.openAsBlob, which streams it instead of loading it into memory.
import { openAsBlob } from "node:fs";
import { writeFile } from "node:fs/promises";

const BASE_URL = (process.argv[5] ?? "http://127.0.0.1:8000").replace(/\/$/, "");
const POLL_MS = Number(process.argv[6] ?? 5000);

async function enviarReporteGrande(archivoJSON, tipoReporte, usuario) {
  const formData = new FormData();
  formData.append("reportType", tipoReporte);
  formData.append("userName", usuario);
  formData.append("isLargeDataset", "true");
  formData.append("dataFile", archivoJSON, "datos.json");

  const response = await fetch(`${BASE_URL}/api/AsyncReports/queue-multipart`, {
    method: "POST",
    body: formData,
  });
  if (!response.ok) throw new Error(`Envío rechazado: ${response.status} ${await response.text()}`);
  const result = await response.json();
  console.log("Trabajo encolado:", result.jobId);

  // Monitorear progreso
  return await monitorearTrabajo(result.jobId);
}

async function monitorearTrabajo(jobId) {
  while (true) {
    const response = await fetch(`${BASE_URL}/api/AsyncReports/status/${jobId}`);
    const status = await response.json();

    console.log(`Estado: ${status.status} - ${status.message}`);

    if (status.status === "Completed") {
      console.log(`Descarga disponible: ${status.downloadUrl}`);
      return status.downloadUrl;
    } else if (status.status === "Failed") {
      throw new Error(`Error en reporte: ${status.message}`);
    }

    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const [archivo, tipo, usuario] = process.argv.slice(2);
const downloadUrl = await enviarReporteGrande(await openAsBlob(archivo), tipo, usuario);
const zip = await fetch(`${BASE_URL}${downloadUrl}`);
if (!zip.ok) throw new Error(`Descarga fallida: ${zip.status}`);
await writeFile("reporte.zip", Buffer.from(await zip.arrayBuffer()));
console.log("Descargado: reporte.zip");
