/*
 * A stand-in for bcryptprimitives.dll, for Wine before 8.13 only
 * (Debian 12's wine is 8.0). Rust's standard library (1.78 and later)
 * and getrandom import ProcessPrng from bcryptprimitives.dll, which every
 * supported Windows (10 and later) has; Wine 8.0 does not, so the binary
 * would not even start. tests/wine/run.sh builds this with mingw-w64 and
 * puts it into the throw-away Wine prefix; it never ships.
 *
 * ProcessPrng fills the buffer from RtlGenRandom (advapi32's
 * SystemFunction036), which Wine serves from the host's random source.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
