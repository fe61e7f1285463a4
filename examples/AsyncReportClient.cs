// The seed's C# client, made correct: typed JSON instead of `dynamic` (ReadFromJsonAsync
// cannot bind to dynamic), a disposable stream for large files, and the download step.
// Not run in CI (no .NET SDK on the build machines); shown for integrators.
using System.Net.Http.Json;
using System.Text.Json.Serialization;

public record QueuedJob([property: JsonPropertyName("jobId")] string JobId);

public record JobStatus(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("downloadUrl")] string? DownloadUrl);

public class AsyncReportClient
{
    private readonly HttpClient _httpClient;

    // baseAddress, e.g. new Uri("http://127.0.0.1:8000/")
    public AsyncReportClient(HttpClient httpClient) => _httpClient = httpClient;

    public async Task<string> EnviarReporteGrandeAsync(string rutaJson, string tipoReporte, string usuario)
    {
        using var content = new MultipartFormDataContent();
        content.Add(new StringContent(tipoReporte), "reportType");
        content.Add(new StringContent(usuario), "userName");
        content.Add(new StringContent("true"), "isLargeDataset");
        await using var file = File.OpenRead(rutaJson);
        content.Add(new StreamContent(file), "dataFile", "datos.json");

        var response = await _httpClient.PostAsync("/api/AsyncReports/queue-multipart", content);
        response.EnsureSuccessStatusCode();
        var result = await response.Content.ReadFromJsonAsync<QueuedJob>();
        return result!.JobId;
    }

    public async Task<string> EsperarCompletarAsync(string jobId)
    {
        while (true)
        {
            var status = await _httpClient.GetFromJsonAsync<JobStatus>($"/api/AsyncReports/status/{jobId}");
            if (status!.Status == "Completed")
                return status.DownloadUrl!;
            else if (status.Status == "Failed")
                throw new Exception($"Error: {status.Message}");

            await Task.Delay(5000);
        }
    }

    public async Task DescargarAsync(string downloadUrl, string destino)
    {
        await using var zip = await _httpClient.GetStreamAsync(downloadUrl);
        await using var output = File.Create(destino);
        await zip.CopyToAsync(output);
    }
}
