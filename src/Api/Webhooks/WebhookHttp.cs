using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// The named <see cref="HttpClient"/> webhooks are sent with (<see cref="ClientName"/>), built by
/// IHttpClientFactory on a <see cref="SocketsHttpHandler"/> that connects only to addresses it has
/// checked itself (<see cref="ConnectAsync"/>): it resolves the host, drops the addresses
/// <see cref="WebhookAddresses"/> refuses (unless private ones are allowed), and connects to one of
/// those left — so what was checked is what is connected to, whatever DNS answers by then.
/// </summary>
public static class WebhookHttp
{
    public const string ClientName = "webhooks";

    public static IServiceCollection AddWebhookHttpClient(this IServiceCollection services)
    {
        services.AddHttpClient(ClientName, client =>
            {
                // Each attempt has its own deadline (WebhookSender); the client's own would only get in the way.
                client.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("TrainingService-Webhooks/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(provider =>
            {
                var options = provider.GetRequiredService<IOptions<WebhooksOptions>>().Value;
                return new SocketsHttpHandler
                {
                    ConnectCallback = (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, options.AllowPrivateAddresses, cancellationToken),
                    ConnectTimeout = options.Timeout,
                    // A proxy would be connected to instead of the receiver, and the check above would
                    // check the proxy; a redirect would be followed without the caller's say.
                    UseProxy = false,
                    AllowAutoRedirect = false,
                    AutomaticDecompression = DecompressionMethods.None,
                    // Receivers' addresses change; pooled connections are not kept for ever.
                    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                };
            })
            // IHttpClientFactory's loggers write each request's URL, and a callback URL may carry a token
            // (chat services' webhook URLs do): the deliverer logs the host only.
            .RemoveAllLoggers();
        return services;
    }

    /// <summary>Resolves, checks and connects; throws <see cref="WebhookAddressRefusedException"/> when no address may be used.</summary>
    public static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, bool allowPrivate, CancellationToken cancellationToken)
    {
        var addresses = await WebhookAddresses.ResolveAsync(endPoint.Host, cancellationToken);
        var usable = allowPrivate ? addresses : [.. addresses.Where(a => WebhookAddresses.KindOfRefused(a) is null)];
        if (usable.Length == 0)
        {
            var first = addresses.FirstOrDefault();
            throw new WebhookAddressRefusedException(first is null
                ? $"{endPoint.Host} has no address"
                : $"refused to connect: {first} is {WebhookAddresses.KindOfRefused(first)} address (Webhooks:AllowPrivateAddresses is off)");
        }

        SocketException? last = null;
        foreach (var address in usable)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last!;
    }
}

/// <summary>A webhook's host resolved only to addresses it may not reach.</summary>
public sealed class WebhookAddressRefusedException(string message) : IOException(message);
