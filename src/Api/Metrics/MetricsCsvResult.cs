using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Http.Metadata;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts;

namespace TrainingService.Api.Metrics;

/// <summary>The metrics as CSV with a header row, for spreadsheets and <c>pandas.read_csv</c>.</summary>
public sealed class MetricsCsvResult(IReadOnlyList<EpochRecord> epochs) : IResult, IEndpointMetadataProvider
{
    public const string ContentType = "text/csv";

    private const string Header = "epoch,trainLoss,trainAccuracy,testLoss,testAccuracy,learningRate,epochSeconds,samplesPerSecond,recordedAt";

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.ContentType = $"{ContentType}; charset=utf-8";
        await httpContext.Response.WriteAsync(Render(epochs), Encoding.UTF8, httpContext.RequestAborted);
    }

    public static string Render(IReadOnlyList<EpochRecord> epochs)
    {
        var csv = new StringBuilder(Header).Append('\n');
        foreach (var record in epochs)
        {
            var m = record.Metrics;
            // Round-trippable numbers in the invariant culture; NaN and Infinity as .NET writes them,
            // which pandas and numpy read back as floats.
            csv.Append(m.Epoch.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(Number(m.TrainLoss)).Append(',')
                .Append(Number(m.TrainAccuracy)).Append(',')
                .Append(Number(m.TestLoss)).Append(',')
                .Append(Number(m.TestAccuracy)).Append(',')
                .Append(Number(m.LearningRate)).Append(',')
                .Append(Number(m.EpochSeconds)).Append(',')
                .Append(Number(m.SamplesPerSecond)).Append(',')
                .Append(record.RecordedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)).Append('\n');
        }
        return csv.ToString();
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ResponseContentExample(StatusCodes.Status200OK, ContentType,
            Header + "\n1,0.2113,0.9351,0.0468,0.9847,0.0017,29.8,2210.4,2025-11-26T15:40:32.0000000Z\n"));
}
