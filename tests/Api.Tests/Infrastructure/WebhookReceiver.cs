using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>A POST a <see cref="WebhookReceiver"/> got: when, its headers and its body's exact bytes.</summary>
public sealed record ReceivedWebhook(int Number, DateTimeOffset At, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Header(string name) => Headers.TryGetValue(name, out var value) ? value : throw new Xunit.Sdk.XunitException($"No {name} header.");
}

/// <summary>
/// A webhook receiver: Kestrel on 127.0.0.1 at a port of its own, over real sockets, recording every
/// request and answering what <see cref="Respond"/> says for the Nth (1-based) — a status, after an
/// optional delay (a slow receiver).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<ReceivedWebhook> received = new();
    private int count;

    private WebhookReceiver(WebApplication app) => this.app = app;

    /// <summary>The Nth request's answer: status code and how long to wait before giving it. Default: 200 at once.</summary>
    public Func<int, (int Status, TimeSpan Delay)> Respond { get; set; } = _ => (200, TimeSpan.Zero);

    public string Url { get; private set; } = "";

    public IReadOnlyList<ReceivedWebhook> Received => [.. received];

    public static async Task<WebhookReceiver> StartAsync(string path = "/hook", int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var receiver = new WebhookReceiver(builder.Build());
        receiver.app.MapPost(path, receiver.HandleAsync);
        await receiver.app.StartAsync();
        var address = receiver.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Url = address.TrimEnd('/') + path;
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var number = Interlocked.Increment(ref count);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        received.Enqueue(new ReceivedWebhook(number, DateTimeOffset.UtcNow, headers, buffer.ToArray()));
        var (status, delay) = Respond(number);
        if (delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return; // the sender gave up waiting
            }
        }
        context.Response.StatusCode = status;
    }

    /// <summary>Waits until at least <paramref name="requests"/> requests have arrived; returns them all.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(int requests, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (received.Count < requests)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The receiver got {received.Count} of the {requests} requests expected.");
            await Task.Delay(20);
        }
        return Received;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
