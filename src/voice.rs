//! Voice notes: WhatsApp plays OGG/Opus and shows the duration the message
//! states, which is read here from the container (the last page's granule
//! position, less the encoder's pre-skip, at Opus's fixed 48 kHz).

/// Opus timestamps count 48 kHz samples whatever the input rate was.
const OPUS_RATE: u64 = 48_000;

/// The length of an OGG/Opus file in whole seconds (at least 1), or why it
/// is not one WhatsApp can play as a voice note.
pub(crate) fn duration(bytes: &[u8]) -> Result<u32, String> {
    let mut reader = ogg::PacketReader::new(std::io::Cursor::new(bytes));
    let head = reader
        .read_packet()
        .map_err(|e| format!("the OGG file cannot be read: {e}"))?
        .ok_or("the OGG file is empty")?;
    // RFC 7845: "OpusHead", version, channels, pre-skip (u16 LE), ...
    if head.data.len() < 19 || &head.data[..8] != b"OpusHead" {
        return Err(
            "the OGG file does not hold Opus audio (Vorbis?): a voice note must be OGG/Opus".into(),
        );
    }
    let pre_skip = u64::from(u16::from_le_bytes([head.data[10], head.data[11]]));
    let serial = head.stream_serial();
    let mut last = 0u64;
    loop {
        match reader.read_packet() {
            Ok(Some(packet)) => {
                if packet.stream_serial() == serial && packet.last_in_page() {
                    last = last.max(packet.absgp_page());
                }
            }
            Ok(None) => break,
            Err(e) => return Err(format!("the OGG file is damaged: {e}")),
        }
    }
    let samples = last.saturating_sub(pre_skip);
    if samples == 0 {
        return Err("the OGG/Opus file holds no audio".into());
    }
    let seconds = samples.div_ceil(OPUS_RATE);
    u32::try_from(seconds).map_err(|_| "the OGG/Opus file claims an impossible length".into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An OGG/Opus stream of `seconds` (20 ms packets of filler: the
    /// container, not the codec, is what is read).
    pub(crate) fn opus_ogg(seconds: u32, pre_skip: u16) -> Vec<u8> {
        stream(b"OpusHead", seconds, pre_skip)
    }

    fn stream(magic: &[u8; 8], seconds: u32, pre_skip: u16) -> Vec<u8> {
        use ogg::writing::{PacketWriteEndInfo, PacketWriter};
        let mut out = Vec::new();
        {
            let mut w = PacketWriter::new(&mut out);
            let mut head = magic.to_vec();
            head.push(1);
            head.push(1);
            head.extend(pre_skip.to_le_bytes());
            head.extend(48_000u32.to_le_bytes());
            head.extend([0, 0, 0]);
            w.write_packet(head, 7, PacketWriteEndInfo::EndPage, 0)
                .unwrap();
            w.write_packet(
                b"OpusTags\0\0\0\0\0\0\0\0".to_vec(),
                7,
                PacketWriteEndInfo::EndPage,
                0,
            )
            .unwrap();
            let packets = seconds * 50;
            for i in 1..=packets {
                let end = if i == packets {
                    PacketWriteEndInfo::EndStream
                } else if i % 50 == 0 {
                    PacketWriteEndInfo::EndPage
                } else {
                    PacketWriteEndInfo::NormalPacket
                };
                let granule = u64::from(pre_skip) + u64::from(i) * 960;
                w.write_packet(vec![0xfc, 0xff, 0xfe], 7, end, granule)
                    .unwrap();
            }
        }
        out
    }

    #[test]
    fn the_duration_comes_from_the_last_granule() {
        assert_eq!(duration(&opus_ogg(7, 312)), Ok(7));
        assert_eq!(duration(&opus_ogg(1, 0)), Ok(1));
    }

    #[test]
    fn what_is_not_opus_says_so() {
        assert!(duration(b"not ogg at all").is_err());
        let err = duration(&stream(b"\x01vorbis\0", 1, 0)).unwrap_err();
        assert!(err.contains("Opus"), "{err}");
        // Truncated: the header alone.
        let whole = opus_ogg(2, 0);
        assert!(duration(&whole[..60]).is_err());
    }
}
