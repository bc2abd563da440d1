using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TrainingService.Models.Tests.Data;

/// <summary>What <see cref="LocalHttpServer"/> sends for a request.</summary>
/// <param name="Status">HTTP status code.</param>
/// <param name="Body">Bytes sent after the headers; the connection is closed after them.</param>
/// <param name="ContentLength">Content-Length header value, or null to send none (the body then ends when the connection closes).</param>
internal sealed record HttpReply(int Status, ReadOnlyMemory<byte> Body, long? ContentLength)
{
    public static HttpReply Ok(ReadOnlyMemory<byte> body) => new(200, body, body.Length);

    public static HttpReply NotFound() => new(404, "not found"u8.ToArray(), 9);
}

/// <summary>
/// A deliberately tiny HTTP/1.1 server on 127.0.0.1 built on a raw socket, so tests can misbehave
/// in ways a real server would not let them (e.g. announce more bytes than they send). Every
/// response closes its connection, which keeps the server free of keep-alive handling.
/// </summary>
internal sealed class LocalHttpServer : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly Func<string, HttpReply> handler;
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentQueue<string> requests = new();
    private readonly Task acceptLoop;

    /// <param name="handler">Maps a request path (e.g. <c>/good/x.gz</c>) to a reply.</param>
    public LocalHttpServer(Func<string, HttpReply> handler)
    {
        this.handler = handler;
        listener.Start();
        BaseUri = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        acceptLoop = AcceptLoopAsync();
    }

    public Uri BaseUri { get; }

    /// <summary>Paths requested so far, in arrival order.</summary>
    public IReadOnlyList<string> Requests => requests.ToArray();

    /// <summary>A mirror URL whose requests reach the handler as <c>/{name}/...</c>.</summary>
    public Uri Mirror(string name) => new(BaseUri, name + "/");

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        await acceptLoop;
        stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                TcpClient client = await listener.AcceptTcpClientAsync(stopping.Token);
                connections.Add(Task.Run(() => ServeAsync(client)));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        await Task.WhenAll(connections);
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                NetworkStream stream = client.GetStream();
                string? path = await ReadRequestPathAsync(stream);
                if (path is null)
                {
                    return;
                }

                requests.Enqueue(path);
                HttpReply reply = handler(path);
                var head = new StringBuilder()
                    .Append($"HTTP/1.1 {reply.Status} {ReasonPhrase(reply.Status)}\r\n")
                    .Append("Content-Type: application/octet-stream\r\nConnection: close\r\n");
                if (reply.ContentLength is long length)
                {
                    head.Append($"Content-Length: {length}\r\n");
                }

                await stream.WriteAsync(Encoding.ASCII.GetBytes(head.Append("\r\n").ToString()), stopping.Token);
                await stream.WriteAsync(reply.Body, stopping.Token);
                // Half-close so the client sees a clean end of stream after exactly these bytes.
                client.Client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
                // The client went away (e.g. it cancelled); nothing more to send.
            }
        }
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Unknown",
    };

    private async Task<string?> ReadRequestPathAsync(NetworkStream stream)
    {
        // GET requests have no body, so everything up to the blank line is the whole request.
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (received.Count < 64 * 1024)
        {
            int read = await stream.ReadAsync(buffer, stopping.Token);
            if (read == 0)
            {
                return null;
            }

            received.AddRange(buffer.AsSpan(0, read));
            string text = Encoding.ASCII.GetString(received.ToArray());
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                // "GET /path HTTP/1.1"
                return text[..text.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ')[1];
            }
        }

        return null;
    }
}
