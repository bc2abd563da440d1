using System.Buffers;
using System.Data.Common;
using System.Text;
using System.Text.Json;
using Dapper;
using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary>
/// PostgreSQL's way: one statement for the whole batch. The rows travel as one JSON array, so the
/// statement's text is the same whatever their number and the connection's prepared copy serves every batch.
/// </summary>
internal sealed class PostgresBulkJobInsert : IJobRowInsert
{
    private const string Sql = $"""
        INSERT INTO jobs ({JobRow.Columns})
        SELECT {JobRow.Columns} FROM jsonb_to_recordset(CAST(@Rows AS jsonb)) AS r(
            id uuid, kind text, architecture text, status text, name text, tags jsonb, hyperparameters jsonb,
            source jsonb, idempotency_key text, queue text, created_at timestamptz, started_at timestamptz,
            finished_at timestamptz, attempt integer, lease_token uuid, worker text, device text,
            heartbeat_at timestamptz, cancel_requested boolean, progress jsonb, result jsonb, error jsonb, owner text,
            expect jsonb, trace_parent text, termination_reason text, dataset text)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING {JobRow.Columns}
        """;

    public async Task<IReadOnlyList<JobRecord>> InsertAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<JobRow>(JobDatabase.Command(Sql, new { Rows = JobRows(jobs) }, transaction, cancellationToken));
        return [.. rows.Select(row => row.ToRecord())];
    }

    /// <summary>The jobs as a JSON array of objects keyed by column: JSON columns as JSON, times as ISO 8601 to the microsecond.</summary>
    private static string JobRows(IReadOnlyList<JobRecord> jobs)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var job in jobs)
            {
                json.WriteStartObject();
                json.WriteString("id", job.Id);
                json.WriteString("kind", JobRow.Text(job.Kind));
                json.WriteString("architecture", job.Architecture);
                json.WriteString("status", JobRow.Text(job.Status));
                json.WriteString("name", job.Name);
                WriteJson(json, "tags", JobStoreJson.Serialize(job.Tags));
                WriteJson(json, "hyperparameters", JobStoreJson.Serialize(job.Hyperparameters));
                WriteJson(json, "source", JobStoreJson.SerializeOrNull(job.Source));
                json.WriteString("idempotency_key", job.IdempotencyKey);
                json.WriteString("queue", job.Queue);
                WriteTime(json, "created_at", job.CreatedAt);
                WriteTime(json, "started_at", job.StartedAt);
                WriteTime(json, "finished_at", job.FinishedAt);
                json.WriteNumber("attempt", job.Attempt);
                if (job.LeaseToken is { } lease) json.WriteString("lease_token", lease); else json.WriteNull("lease_token");
                json.WriteString("worker", job.Worker);
                json.WriteString("device", job.Device);
                WriteTime(json, "heartbeat_at", job.HeartbeatAt);
                json.WriteBoolean("cancel_requested", job.CancelRequested);
                WriteJson(json, "progress", JobStoreJson.SerializeOrNull(job.Progress));
                WriteJson(json, "result", JobStoreJson.SerializeOrNull(job.Result));
                WriteJson(json, "error", JobStoreJson.SerializeOrNull(job.Error));
                json.WriteString("owner", job.Owner);
                WriteJson(json, "expect", JobStoreJson.SerializeOrNull(job.Expect));
                json.WriteString("trace_parent", job.TraceParent);
                json.WriteString("termination_reason", job.TerminationReason is { } reason ? JobRow.Text(reason) : null);
                json.WriteString("dataset", job.Dataset);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);

        static void WriteJson(Utf8JsonWriter json, string name, string? value)
        {
            json.WritePropertyName(name);
            if (value is null) json.WriteNullValue(); else json.WriteRawValue(value, skipInputValidation: true);
        }

        static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? time)
        {
            if (time is { } value) json.WriteString(name, StoredTime.Truncate(value)); else json.WriteNull(name);
        }
    }
}
