package dev.yulan.inference.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.yulan.inference.engine.SamplingParams;
import dev.yulan.inference.sampling.StopMatcher.Emission;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StopMatcherTest {
    private static final int EOS = 2;
    private static final int TOKEN = 100;

    private static StopMatcher matcher(String... stops) {
        return new StopMatcher(List.of(stops), Set.of(EOS));
    }

    @Test
    void emitsTextAtOnceWhenItCannotStartAStopString() {
        StopMatcher matcher = matcher("###");
        assertThat(matcher.accept(TOKEN, "Hello")).isEqualTo(new Emission("Hello", false));
        assertThat(matcher.accept(TOKEN, " world")).isEqualTo(new Emission(" world", false));
        assertThat(matcher.finish()).isEmpty();
    }

    @Test
    void holdsBackAPartialMatchAndStopsWithoutEmittingTheStopString() {
        StopMatcher matcher = matcher("###");
        assertThat(matcher.accept(TOKEN, "Hello #")).isEqualTo(new Emission("Hello ", false));
        assertThat(matcher.accept(TOKEN, "#")).isEqualTo(new Emission("", false));
        assertThat(matcher.accept(TOKEN, "# and more")).isEqualTo(new Emission("", true));
        assertThat(matcher.stopped()).isTrue();
        assertThat(matcher.matchedStopString()).isEqualTo("###");
    }

    @Test
    void findsAStopStringSplitOverThreeDeltas() {
        StopMatcher matcher = matcher("STOP");
        StringBuilder out = new StringBuilder();
        out.append(matcher.accept(TOKEN, "abc S").text());
        assertThat(out).hasToString("abc ");
        out.append(matcher.accept(TOKEN, "TO").text());
        assertThat(out).hasToString("abc ");
        Emission last = matcher.accept(TOKEN, "Pxyz");
        out.append(last.text());
        assertThat(last.stop()).isTrue();
        assertThat(out).hasToString("abc ");
    }

    @Test
    void truncatesTextBeforeAStopStringInsideOneDelta() {
        assertThat(matcher("\n\n").accept(TOKEN, "one line\n\nnext")).isEqualTo(new Emission("one line", true));
    }

    @Test
    void releasesHeldTextWhenTheMatchFails() {
        StopMatcher matcher = matcher("END");
        assertThat(matcher.accept(TOKEN, "the E")).isEqualTo(new Emission("the ", false));
        assertThat(matcher.accept(TOKEN, "N")).isEqualTo(new Emission("", false));
        assertThat(matcher.accept(TOKEN, "Dx")).isEqualTo(new Emission("", true));
        StopMatcher failing = matcher("END");
        failing.accept(TOKEN, "the EN");
        assertThat(failing.accept(TOKEN, "ough")).isEqualTo(new Emission("ENough", false));
        assertThat(failing.stopped()).isFalse();
    }

    @Test
    void keepsTheLongestPossibleStartWhenPrefixesOverlap() {
        StopMatcher matcher = matcher("aab");
        StringBuilder out = new StringBuilder();
        for (String delta : List.of("a", "a", "a", "a")) {
            out.append(matcher.accept(TOKEN, delta).text());
        }
        assertThat(out).hasToString("aa");
        Emission last = matcher.accept(TOKEN, "b");
        assertThat(out.append(last.text())).hasToString("aa");
        assertThat(last.stop()).isTrue();
    }

    @Test
    void cutsAtTheEarliestOfSeveralStopStrings() {
        StopMatcher matcher = matcher("world", "lo w", "</s>");
        assertThat(matcher.accept(TOKEN, "hel")).as("'l' may start 'lo w'").isEqualTo(new Emission("he", false));
        assertThat(matcher.accept(TOKEN, "lo world")).isEqualTo(new Emission("l", true));
        assertThat(matcher.matchedStopString()).isEqualTo("lo w");
        StopMatcher other = matcher("world", "lo w", "</s>");
        assertThat(other.accept(TOKEN, "say </")).isEqualTo(new Emission("say ", false));
        assertThat(other.accept(TOKEN, "s> world")).isEqualTo(new Emission("", true));
        assertThat(other.matchedStopString()).isEqualTo("</s>");
    }

    @Test
    void eosAndStopTokenIdsStopWithoutTheirTextButReleaseHeldText() {
        StopMatcher matcher = StopMatcher.of(
                new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 10, List.of("###"), List.of(7), false),
                Set.of(EOS));
        assertThat(matcher.isStopToken(7)).isTrue();
        assertThat(matcher.isStopToken(EOS)).isTrue();
        assertThat(matcher.isStopToken(TOKEN)).isFalse();
        assertThat(matcher.accept(TOKEN, "done #")).isEqualTo(new Emission("done ", false));
        assertThat(matcher.accept(EOS, "</s>")).isEqualTo(new Emission("#", true));
        assertThat(matcher.matchedStopString()).isNull();
        assertThat(matcher.accept(TOKEN, "more")).isEqualTo(new Emission("", false));

        StopMatcher byId = StopMatcher.of(
                new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 10, List.of(), List.of(7), false), Set.of(EOS));
        assertThat(byId.accept(7, "seven")).isEqualTo(new Emission("", true));
    }

    @Test
    void finishReleasesHeldTextAtTheLengthLimit() {
        StopMatcher matcher = matcher("STOP");
        assertThat(matcher.accept(TOKEN, "abc ST")).isEqualTo(new Emission("abc ", false));
        assertThat(matcher.finish()).isEqualTo("ST");
        assertThat(matcher.stopped()).isTrue();
    }

    @Test
    void rejectsAnEmptyStopString() {
        assertThatThrownBy(() -> matcher("")).hasMessage("stop strings must not be empty");
    }
}
