using System.Net;
using System.Net.Sockets;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// Which addresses a webhook may not reach unless <see cref="WebhooksOptions.AllowPrivateAddresses"/>
/// is on: everything that is not the public internet — the machine itself, its private networks, the
/// cloud's metadata service (169.254.169.254) and the like (server-side request forgery). Checked when a
/// callback is registered (the host's current addresses) and again on every connection (the address
/// actually connected to, so a name that later resolves elsewhere — DNS rebinding — gains nothing).
/// </summary>
public static class WebhookAddresses
{
    private static readonly (IPNetwork Network, string Kind)[] Refused =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "an unspecified (this-network)"),
        (IPNetwork.Parse("127.0.0.0/8"), "a loopback"),
        (IPNetwork.Parse("10.0.0.0/8"), "a private"),
        (IPNetwork.Parse("172.16.0.0/12"), "a private"),
        (IPNetwork.Parse("192.168.0.0/16"), "a private"),
        (IPNetwork.Parse("100.64.0.0/10"), "a shared (carrier-grade NAT)"),
        (IPNetwork.Parse("169.254.0.0/16"), "a link-local"),
        (IPNetwork.Parse("192.0.0.0/24"), "a reserved (IETF protocol)"),
        (IPNetwork.Parse("198.18.0.0/15"), "a reserved (benchmarking)"),
        (IPNetwork.Parse("224.0.0.0/4"), "a multicast"),
        (IPNetwork.Parse("240.0.0.0/4"), "a reserved (or broadcast)"),
        (IPNetwork.Parse("::/128"), "an unspecified"),
        (IPNetwork.Parse("::1/128"), "a loopback"),
        (IPNetwork.Parse("::/96"), "an IPv4-compatible (deprecated)"),
        (IPNetwork.Parse("fe80::/10"), "a link-local"),
        (IPNetwork.Parse("fec0::/10"), "a site-local"),
        (IPNetwork.Parse("fc00::/7"), "a private (unique local)"),
        (IPNetwork.Parse("ff00::/8"), "a multicast"),
    ];

    /// <summary>IPv6 addresses a NAT64 gateway translates to the IPv4 address in their last 32 bits.</summary>
    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");

    /// <summary>
    /// Null for a public address; else what it is, as "a loopback", "a private" — for
    /// "127.0.0.1 is a loopback address". An IPv4 address written as IPv6 (mapped, or NAT64) is judged as IPv4.
    /// </summary>
    public static string? KindOfRefused(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        else if (address.AddressFamily == AddressFamily.InterNetworkV6 && Nat64.Contains(address))
            address = new IPAddress(address.GetAddressBytes()[12..]);
        foreach (var (network, kind) in Refused)
        {
            if (network.BaseAddress.AddressFamily == address.AddressFamily && network.Contains(address))
                return kind;
        }
        return null;
    }

    /// <summary>The host's addresses: itself when it is an IP literal (with or without brackets), else what DNS says now.</summary>
    public static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (IPAddress.TryParse(literal, out var address))
            return [address];
        return await Dns.GetHostAddressesAsync(host, cancellationToken);
    }
}
