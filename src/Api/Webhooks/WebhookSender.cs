using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// One attempt at a delivery: POSTs its body, signed, to the subscription's URL and says what came of
/// it — the status code (2xx is success) or why there was none — within <see cref="WebhooksOptions.Timeout"/>.
/// The receiver's answer body is not read: its status is the answer.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory clients, IOptions<WebhooksOptions> options, TimeProvider time)
{
    private const int MaxErrorLength = 500;

    /// <summary>What came of an attempt; null when <paramref name="stopping"/> cut it short (it does not count).</summary>
    public async Task<WebhookAttempt?> SendAsync(WebhookClaim claim, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var timeout = options.Value.Timeout;
        var started = time.GetUtcNow();
        var clock = time.GetTimestamp();
        var body = Encoding.UTF8.GetBytes(claim.Delivery.Payload);
        using var request = new HttpRequestMessage(HttpMethod.Post, claim.Url)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } } },
        };
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(claim.Secret, body, started));
        request.Headers.Add(WebhookSignature.EventHeader, claim.Delivery.EventType);
        request.Headers.Add(WebhookSignature.DeliveryHeader, claim.Delivery.Id.ToString("D"));

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(timeout);
        int? status = null;
        string? error = null;
        try
        {
            using var response = await clients.CreateClient(WebhookHttp.ClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
                error = $"HTTP {status} {response.ReasonPhrase}".TrimEnd();
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            error = $"No answer within {timeout.TotalSeconds:0.###} s (Webhooks:Timeout)";
        }
        catch (HttpRequestException e)
        {
            error = Describe(e);
        }
        var elapsed = time.GetElapsedTime(clock);
        return new WebhookAttempt(0, started, (int)Math.Min(int.MaxValue, Math.Round(elapsed.TotalMilliseconds)), status, error);
    }

    /// <summary>The innermost reason, which says the most ("Connection refused", "refused to connect: 10.0.0.5 is a private address").</summary>
    private static string Describe(Exception e)
    {
        var reason = e;
        while (reason.InnerException is { } inner)
            reason = inner;
        var text = reason == e ? e.Message : $"{e.Message} {reason.Message}";
        if (reason is WebhookAddressRefusedException)
            text = reason.Message;
        return text.Length <= MaxErrorLength ? text : text[..MaxErrorLength] + "…";
    }
}
