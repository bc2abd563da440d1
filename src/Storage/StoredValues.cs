using System.Data;
using System.Reflection;
using Dapper;
using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary>
/// How Dapper reads the stores' rows into their row types (<see cref="JobRow"/> and the like):
/// columns by their snake_case names, and the two kinds of value the engines hand back differently —
/// ids (PostgreSQL <c>uuid</c>, SQLite text) and times (PostgreSQL <c>timestamptz</c> as a UTC
/// <see cref="DateTime"/>, SQLite integer microseconds, see <see cref="StoredTime"/>). Integers,
/// booleans (SQLite 0/1), enums (lowercase text) and JSON text Dapper converts by itself.
/// </summary>
/// <remarks>
/// Dapper's handlers are process-wide, and other libraries in the process use Dapper (Hangfire's
/// PostgreSQL storage). These read a <see cref="Guid"/> or <see cref="DateTimeOffset"/> exactly as
/// Dapper would by itself wherever that already worked, and Dapper binds parameters of both types as
/// before (its own type map wins there), so nothing changes for anyone else. The stores bind ids and
/// times through <see cref="JobDatabase.Id(Guid)"/> and <see cref="JobDatabase.Time(DateTimeOffset)"/>.
/// </remarks>
internal static class StoredValues
{
    /// <summary>Every row type the stores read; their properties are the columns, in PascalCase.</summary>
    private static readonly Type[] RowTypes =
    [
        typeof(JobRow), typeof(SweepJobRow), typeof(EpochRow), typeof(EpochConflictRow), typeof(CheckpointRow), typeof(LogRow),
        typeof(WorkerRow), typeof(SweepRow), typeof(ApiKeyRow), typeof(AttemptRow), typeof(DatasetRow), typeof(SqlJobStore.EndedAttempt),
        typeof(WebhookSubscriptionRow), typeof(WebhookDeliveryRow), typeof(WebhookAttemptRow), typeof(DecisionRow),
    ];

    private static int registered;

    /// <summary>Registers the handlers and row maps once per process.</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1)
            return;
        SqlMapper.AddTypeHandler(new IdHandler());
        SqlMapper.AddTypeHandler(new TimeHandler());
        foreach (var type in RowTypes)
            SqlMapper.SetTypeMap(type, new CustomPropertyTypeMap(type, PropertyOfColumn));
    }

    /// <summary><c>created_at</c> → <c>CreatedAt</c>.</summary>
    private static PropertyInfo PropertyOfColumn(Type type, string column) =>
        type.GetProperty(column.Replace("_", "", StringComparison.Ordinal), BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)
        ?? throw new InvalidOperationException($"{type.Name} has no property for column {column}.");

    private sealed class IdHandler : SqlMapper.TypeHandler<Guid>
    {
        public override Guid Parse(object value) => value switch
        {
            Guid id => id,
            string text => Guid.Parse(text),
            _ => throw new InvalidCastException($"Not an id: {value.GetType().Name}."),
        };

        public override void SetValue(IDbDataParameter parameter, Guid value) => parameter.Value = value;
    }

    private sealed class TimeHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override DateTimeOffset Parse(object value) => value switch
        {
            DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
            DateTimeOffset time => time.ToUniversalTime(),
            long microseconds => StoredTime.FromUnixMicroseconds(microseconds),
            _ => throw new InvalidCastException($"Not a time: {value.GetType().Name}."),
        };

        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = value;
    }
}
