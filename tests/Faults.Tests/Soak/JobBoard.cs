using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests.Soak;

/// <summary>
/// The soak's jobs as the API last showed them (one <c>GET /jobs?tag=</c> every half second), for the
/// soak and its fault agent to read without each polling. While the API is killed or the database is
/// away the last answer stays: the board is never more than a little late, and never wrong.
/// </summary>
internal sealed class JobBoard(FaultRig rig, string tag) : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private Task? polling;
    private IReadOnlyDictionary<string, JsonObject> jobs = new Dictionary<string, JsonObject>();

    public IReadOnlyDictionary<string, JsonObject> Jobs => Volatile.Read(ref jobs);

    /// <summary>Answers that could not be had (API down, database away, a request cut by a restart).</summary>
    public int FailedPolls { get; private set; }

    public void Start() => polling = Task.Run(() => PollAsync(stop.Token));

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var response = await rig.Http.GetAsync($"/jobs?tag={tag}&limit=200", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    var page = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
                    Volatile.Write(ref jobs, page!["items"]!.AsArray().Select(j => j!.AsObject()).ToDictionary(j => (string)j["id"]!));
                }
                else
                    FailedPolls++;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ObjectDisposedException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
            {
                FailedPolls++;
            }
            try { await Task.Delay(500, cancellationToken); } catch (OperationCanceledException) { return; }
        }
    }

    public static bool IsTerminal(JsonObject job) => FaultRig.IsTerminal(job);

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (polling is not null) await polling;
        stop.Dispose();
    }
}
