package refpos;

/**
 * How far a {@link Store#sync} is (refpos.h, refpos_progress_fn). Called on
 * the syncing thread, inside the plugin's sync: ("push", events head office
 * acknowledged, events to send) after each batch, then ("pull", 0, 1) and
 * ("pull", 1, 1). {@code total} is 0 when not known.
 *
 * <p>It must not use the store that is syncing (that throws
 * IllegalStateException). Whatever it throws is rethrown by
 * {@link Store#sync} once the plugin has returned; the sync itself runs to
 * its end.
 */
@FunctionalInterface
public interface SyncProgress {
    void progress(String stage, long done, long total);
}
