using System.Net.Sockets;
using Microsoft.Extensions.Options;
using TrainingService.Api.Infrastructure;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// Checks a webhook's URL, secret and event types as submitted, adding what is wrong to the request's
/// <see cref="FieldErrors"/> under the field's JSON path (<c>callback.url</c>). A URL must be absolute
/// http(s), carry no credentials, and — unless <see cref="WebhooksOptions.AllowPrivateAddresses"/> —
/// name a host whose every address is public (<see cref="WebhookAddresses"/>): the name is resolved
/// here, and the addresses are checked again at every connection.
/// </summary>
public sealed class WebhookValidation(IOptions<WebhooksOptions> options)
{
    public const int MaxUrlLength = 2000;
    public const int MinSecretLength = 16;
    public const int MaxSecretLength = 256;

    /// <summary>How long a callback's host name may take to resolve before the request is refused.</summary>
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The URL to store, or null with the reasons added to <paramref name="errors"/>.</summary>
    public async Task<string?> CheckUrlAsync(string? url, string field, FieldErrors errors, CancellationToken cancellationToken)
    {
        if (url is null)
        {
            errors.Add(field, "Required: the http or https URL to POST the event to.");
            return null;
        }
        if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || string.IsNullOrEmpty(uri.IdnHost))
        {
            errors.Add(field, $"Must be an absolute http or https URL of at most {MaxUrlLength} characters; got '{Problems.Shorten(url)}'.");
            return null;
        }
        if (uri.UserInfo.Length > 0)
        {
            errors.Add(field, "Must not carry a user name or password: events are authenticated by their signature (the secret).");
            return null;
        }
        if (uri.Fragment.Length > 0)
        {
            errors.Add(field, "Must not have a #fragment: it is never sent to the receiver.");
            return null;
        }
        if (!options.Value.AllowPrivateAddresses && await WhyRefusedAsync(uri, cancellationToken) is { } refusal)
        {
            errors.Add(field, refusal);
            return null;
        }
        return uri.AbsoluteUri;
    }

    public string? CheckSecret(string? secret, string field, FieldErrors errors)
    {
        if (secret is null)
            errors.Add(field, $"Required: {MinSecretLength} to {MaxSecretLength} visible ASCII characters that sign the events (e.g. from 'openssl rand -hex 32').");
        else if (secret.Length is < MinSecretLength or > MaxSecretLength || secret.Any(c => c is < '!' or > '~'))
            errors.Add(field, $"Must be {MinSecretLength} to {MaxSecretLength} visible ASCII characters (no spaces); e.g. from 'openssl rand -hex 32'.");
        else
            return secret;
        return null;
    }

    /// <summary>The event types asked for, repeats dropped; null for all (also when the list is invalid, with the errors added).</summary>
    public static IReadOnlyList<string>? CheckEvents(IReadOnlyList<string?>? events, string field, FieldErrors errors)
    {
        if (events is null)
            return null;
        if (events.Count == 0)
            errors.Add(field, "Must name at least one event type; omit it for all of them.");
        var kept = new List<string>();
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is not { } type || !WebhookEvents.All.Contains(type, StringComparer.Ordinal))
                errors.Add($"{field}[{i}]", $"Must be one of: {string.Join(", ", WebhookEvents.All)}.");
            else if (!kept.Contains(type, StringComparer.Ordinal))
                kept.Add(type);
        }
        return kept;
    }

    private static async Task<string?> WhyRefusedAsync(Uri uri, CancellationToken cancellationToken)
    {
        const string allow = "Webhooks go only to public addresses unless the administrator sets Webhooks:AllowPrivateAddresses=true.";
        System.Net.IPAddress[] addresses;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(ResolveTimeout);
            addresses = await WebhookAddresses.ResolveAsync(uri.IdnHost, deadline.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return $"The host {Problems.Shorten(uri.Host)} could not be resolved, so its addresses could not be checked: {Problems.Shorten(e.Message)}.";
        }
        if (addresses.Length == 0)
            return $"The host {Problems.Shorten(uri.Host)} has no address.";
        foreach (var address in addresses)
        {
            if (WebhookAddresses.KindOfRefused(address) is { } kind)
            {
                return uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6
                    ? $"{address} is {kind} address. {allow}"
                    : $"{Problems.Shorten(uri.Host)} resolves to {address}, {kind} address. {allow}";
            }
        }
        return null;
    }
}
