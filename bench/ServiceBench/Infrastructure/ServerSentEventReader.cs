using System.Diagnostics;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>One Server-Sent Event, stamped with the <see cref="Stopwatch"/> time its blank terminating line was read.</summary>
internal sealed record ServerSentEvent(string Event, string? Id, string Data, long ReceivedAt);

/// <summary>
/// Reads a <c>text/event-stream</c> body line by line into events (the subset the service
/// writes: <c>event:</c>, <c>id:</c>, one or more <c>data:</c>, <c>retry:</c>, and comment lines).
/// An event counts as received when its terminating blank line arrives: before that a client
/// cannot act on it.
/// </summary>
internal sealed class ServerSentEventReader(Stream stream)
{
    private readonly StreamReader reader = new(stream);

    /// <summary>The next event; null at the end of the stream. Reads at most <paramref name="maxLines"/> lines for it.</summary>
    public async Task<ServerSentEvent?> ReadAsync(int maxLines, CancellationToken cancellationToken)
    {
        string? name = null;
        string? id = null;
        List<string>? data = null;
        for (var lines = 0; lines < maxLines; lines++)
        {
            var line = await reader.ReadLineAsync(cancellationToken);
            if (line is null)
                return null;
            if (line.Length == 0)
            {
                if (data is null && name is null)
                    continue; // a comment's or retry's terminator: no event
                return new ServerSentEvent(name ?? "message", id, string.Join('\n', data ?? []), Stopwatch.GetTimestamp());
            }
            if (line.StartsWith(':'))
                continue;
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "event":
                    name = value;
                    break;
                case "id":
                    id = value;
                    break;
                case "data":
                    (data ??= []).Add(value);
                    break;
            }
        }
        throw new InvalidDataException($"No complete event within {maxLines} lines.");
    }
}
