using Dapper;
using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary>The WHERE clause and parameters of a <see cref="JobQuery"/>: its filters, its owner and its cursor.</summary>
internal static class JobFilter
{
    /// <summary>The clause (empty when nothing filters) and its parameters, <c>@Limit</c> among them.</summary>
    public static (string Where, DynamicParameters Parameters) Where(JobQuery query, JobDatabase database)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1, nameof(query));
        var conditions = new List<string>();
        var parameters = new DynamicParameters();
        if (query.Status is { } status)
            Add("status = @Status", ("Status", JobRow.Text(status)));
        if (query.Architecture is { } architecture)
            Add("architecture = @Architecture", ("Architecture", architecture));
        if (query.Kind is { } kind)
            Add("kind = @Kind", ("Kind", JobRow.Text(kind)));
        if (query.Tag is { } tag)
            Add(database.TagCondition("@Tag"), ("Tag", tag));
        if (query.Owner is { } owner)
            Add("owner = @Owner", ("Owner", owner));
        // Newest first: the next page is what sorts below the previous page's last job.
        if (query.After is { } after)
            Add("(created_at, id) < (@AfterCreatedAt, @AfterId)", ("AfterCreatedAt", database.Time(after.CreatedAt)), ("AfterId", database.Id(after.Id)));
        parameters.Add("Limit", query.Limit);
        return (conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions), parameters);

        void Add(string condition, params (string Name, object Value)[] values)
        {
            conditions.Add(condition);
            foreach (var (name, value) in values)
                parameters.Add(name, value);
        }
    }
}
