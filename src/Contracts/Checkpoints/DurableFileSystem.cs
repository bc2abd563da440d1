using System.Runtime.InteropServices;

namespace TrainingService.Contracts.Checkpoints;

/// <summary>
/// The two POSIX calls .NET does not expose: fsync on a directory (so a rename survives a power
/// loss, not just a process crash) and an atomic exchange of two directories. Both are Linux-only
/// and best effort: elsewhere, or where the call is refused, they report that and callers fall
/// back to what .NET offers.
/// </summary>
internal static class DurableFileSystem
{
    private const int ReadOnly = 0;            // O_RDONLY: enough to fsync a directory, same value on every Linux ABI.
    private const int CurrentDirectory = -100; // AT_FDCWD: resolve relative to the working directory (our paths are absolute).
    private const uint RenameExchange = 2;     // RENAME_EXCHANGE, Linux 3.15+, glibc 2.28+.

    /// <summary>
    /// Flushes a directory's entries to disk. Silently does nothing where that is not possible
    /// (other systems, a file system that refuses directory fsync): durability is then whatever the
    /// platform gives, and the data files themselves were already flushed.
    /// </summary>
    public static void FlushDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            var fd = Native.open(path, ReadOnly);
            if (fd < 0)
                return;
            Native.fsync(fd);
            Native.close(fd);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    /// <summary>
    /// Atomically swaps two existing directories' names (Linux <c>renameat2(RENAME_EXCHANGE)</c>),
    /// so there is no moment at which neither is in place. Returns false, having changed nothing,
    /// where that is unsupported (other systems, older kernels or C libraries, some file systems).
    /// </summary>
    public static bool TryExchange(string first, string second)
    {
        if (!OperatingSystem.IsLinux())
            return false;
        try
        {
            return Native.renameat2(CurrentDirectory, first, CurrentDirectory, second, RenameExchange) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int renameat2(
            int oldDirectoryFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath,
            int newDirectoryFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath,
            uint flags);
    }
}
