using System.Text.Json;
using TrainingService.Api.Infrastructure;
using TrainingService.Contracts.Datasets;

namespace TrainingService.Api.Datasets;

/// <summary>
/// The parts of a <c>POST /datasets</c> body: four IDX files and three optional text fields, and
/// the checks that need more than one part (counts that pair up, one image size, labels below the
/// class count).
/// </summary>
public static class UploadForm
{
    /// <summary>The file parts: field name, the name the file is stored under, and what it holds.</summary>
    public static IReadOnlyList<(string Field, string BaseName, DatasetSplit Split, IdxFileKind Kind)> Files { get; } =
    [
        ("trainImages", IdxFileNames.TrainImages, DatasetSplit.Train, IdxFileKind.Images),
        ("trainLabels", IdxFileNames.TrainLabels, DatasetSplit.Train, IdxFileKind.Labels),
        ("testImages", IdxFileNames.TestImages, DatasetSplit.Test, IdxFileKind.Images),
        ("testLabels", IdxFileNames.TestLabels, DatasetSplit.Test, IdxFileKind.Labels),
    ];

    public const string NameField = "name";
    public const string ClassCountField = "classCount";
    public const string ClassNamesField = "classNames";

    public const int MaxNameLength = 200;
    public const int MinClassCount = 2;
    public const int MaxClassCount = 256; // a label is one byte
    public const int MaxClassNameLength = 64;
    public const int DefaultClassCount = 10;

    /// <summary>The most bytes a text field may have.</summary>
    public const int MaxTextFieldBytes = 16 * 1024;

    public static IReadOnlyList<string> FieldNames { get; } = [.. Files.Select(f => f.Field), NameField, ClassCountField, ClassNamesField];

    /// <summary>The name, class count and class names from the text fields, with what is wrong in <paramref name="errors"/>.</summary>
    public static (string? Name, int ClassCount, IReadOnlyList<string>? ClassNames) ParseText(IReadOnlyDictionary<string, string> text, FieldErrors errors)
    {
        string? name = null;
        if (text.TryGetValue(NameField, out var given))
        {
            if (given.Length > MaxNameLength || string.IsNullOrWhiteSpace(given) || given.Any(char.IsControl))
                errors.Add(NameField, $"Must be 1 to {MaxNameLength} characters, not blank, without control characters; omit it for no name.");
            else
                name = given;
        }

        var classCount = DefaultClassCount;
        if (text.TryGetValue(ClassCountField, out var count)
            && !(int.TryParse(count, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out classCount)
                 && classCount is >= MinClassCount and <= MaxClassCount))
        {
            errors.Add(ClassCountField, $"Must be a whole number from {MinClassCount} to {MaxClassCount} (labels are one byte each); got '{Problems.Shorten(count)}'.");
            classCount = DefaultClassCount;
        }

        IReadOnlyList<string>? classNames = null;
        if (text.TryGetValue(ClassNamesField, out var json))
        {
            const string expected = "Must be a JSON array of one name per class, each 1 to 64 characters and not blank, label 0's first";
            try
            {
                var names = JsonSerializer.Deserialize<string?[]>(json);
                if (names is null || names.Length != classCount || names.Any(n => n is null || n.Length > MaxClassNameLength || string.IsNullOrWhiteSpace(n) || n.Any(char.IsControl)))
                    errors.Add(ClassNamesField, $"{expected}: {classCount} of them, as classCount says.");
                else
                    classNames = names!;
            }
            catch (JsonException)
            {
                errors.Add(ClassNamesField, $"{expected}; this is not valid JSON.");
            }
        }
        return (name, classCount, classNames);
    }

    /// <summary>
    /// The checks across parts, on four valid files: images and labels of a split pair up, test
    /// images are the training images' size, every label is below <paramref name="classCount"/>.
    /// </summary>
    public static void CheckTogether(IReadOnlyDictionary<string, StagedIdxFile> files, int classCount, FieldErrors errors)
    {
        foreach (var split in new[] { DatasetSplit.Train, DatasetSplit.Test })
        {
            var (imagesField, labelsField) = (FieldOf(split, IdxFileKind.Images), FieldOf(split, IdxFileKind.Labels));
            var (images, labels) = (files[imagesField], files[labelsField]);
            if (images.Header.Count != labels.Header.Count)
                errors.Add(labelsField, $"{labels.Header.Count} labels, but {imagesField} has {images.Header.Count} images; the images and labels of a split must pair up one to one.");
            if (labels.FirstLabelNotBelow(classCount) is var (label, index))
                errors.Add(labelsField, $"{IdxFormat.LabelOutOfRange(label, index, classCount)}: classCount is {classCount}" +
                    (classCount == DefaultClassCount ? " (the default; give classCount for more classes)." : "."));
        }
        var (train, test) = (files[FieldOf(DatasetSplit.Train, IdxFileKind.Images)].Header, files[FieldOf(DatasetSplit.Test, IdxFileKind.Images)].Header);
        if ((train.Rows, train.Columns) != (test.Rows, test.Columns))
            errors.Add(FieldOf(DatasetSplit.Test, IdxFileKind.Images),
                $"The test images are {test.Rows}×{test.Columns} and the training images {train.Rows}×{train.Columns}; a dataset's images are all one size.");
    }

    public static string FieldOf(DatasetSplit split, IdxFileKind kind) => Files.Single(f => f.Split == split && f.Kind == kind).Field;
}
