# bash completion for procctx(1): subcommands, their flags and the values
# those flags take; after the command operand, the command's own completion.
# Installed as share/bash-completion/completions/procctx.

_procctx_values() {  # _procctx_values OPTION CUR: completes the value of OPTION
  local opt=$1 cur=$2
  case $opt in
  --tree)
    if [[ $_procctx_sub == batch ]]; then COMPREPLY=($(compgen -W "group cgroup none" -- "$cur"))
    else COMPREPLY=($(compgen -W "auto cgroup group none" -- "$cur")); fi ;;
  --leftovers) COMPREPLY=($(compgen -W "kill leave" -- "$cur")) ;;
  --joblog-format) COMPREPLY=($(compgen -W "json parallel" -- "$cur")) ;;
  --on-signal) COMPREPLY=($(compgen -W "soon now" -- "$cur")) ;;
  --halt) COMPREPLY=($(compgen -W "never soon,fail=1 now,fail=1 soon,success=1 now,success=1 now,done=1" -- "$cur")) ;;
  --retry-on) COMPREPLY=($(compgen -W "any timeout KILL TERM SEGV" -- "$cur")) ;;
  -s | --signal) COMPREPLY=($(compgen -W "$(compgen -A signal | sed -n 's/^SIG//p')" -- "$cur")) ;;
  --stop) COMPREPLY=($(compgen -W "TERM,5s,KILL INT,2s,TERM,5s,KILL KILL" -- "$cur")) ;;
  --rlimit) COMPREPLY=($(compgen -W "AS= CORE= CPU= DATA= FSIZE= MEMLOCK= NOFILE= NPROC= STACK=" -- "$cur")); compopt -o nospace 2>/dev/null ;;
  --env-keep) COMPREPLY=($(compgen -e -- "$cur")) ;;
  --env) COMPREPLY=($(compgen -e -S = -- "$cur")); compopt -o nospace 2>/dev/null ;;
  --cwd | --results) COMPREPLY=($(compgen -d -- "$cur")) ;;
  --user) COMPREPLY=($(compgen -u -- "$cur")) ;;
  --group | --groups) COMPREPLY=($(compgen -g -- "$cur")) ;;
  --json | --joblog | --report | --summary-json | -o) COMPREPLY=($(compgen -f -- "$cur")) ;;
  *) COMPREPLY=() ;;  # durations, numbers: nothing to offer
  esac
}

_procctx() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local sub="" i=1
  if ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W "run timeout batch man --help --version" -- "$cur"))
    return
  fi
  sub=${COMP_WORDS[1]}
  _procctx_sub=$sub

  local flags_arg flags_noarg
  case $sub in
  run)
    flags_arg="--timeout --stop --wait-delay --tree --leftovers --env --env-keep --cwd --user --group --groups
      --rlimit --umask --memory-max --pids-max --cpu-max --json"
    flags_noarg="--keep-fds --env-clear --no-new-privs --hardened -v --verbose --help --version" ;;
  timeout)
    flags_arg="-k --kill-after -s --signal"
    flags_noarg="-f --foreground -p --preserve-status -v --verbose --help --version" ;;
  batch)
    if [[ ${COMP_WORDS[2]:-} == merge ]] && ((COMP_CWORD > 2)); then
      flags_arg="-o --report --summary-json"
      flags_noarg="--help"
    else
      flags_arg="-j --jobs --timeout --deadline --stop --tree --halt --retries --retry-on --retry-delay
        --tagstring --results --joblog --joblog-format --report --summary-json --shard --shard-count --on-signal"
      flags_noarg="--jsonl --strict --line-buffer --tag -k --keep-order --resume --resume-failed -q --quiet
        --help --version"
    fi ;;
  *) return ;;
  esac

  # Where do procctx's options end? At "--" or the first operand (timeout's
  # first operand is the DURATION, its second the command).
  local operands=0 cmd_at=0 w
  for ((i = 2; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [[ $w == -- ]]; then cmd_at=$((i + 1)); break; fi
    if [[ $w == -* ]]; then
      [[ $w != *=* ]] && [[ " $flags_arg " == *" $w "* ]] && ((i++))
      continue
    fi
    # bash splits "--opt=value" into "--opt" "=" "value"
    [[ $w == = ]] && { ((i++)); continue; }
    operands=$((operands + 1))
    if [[ $sub == run || ($sub == timeout && $operands == 2) ]]; then cmd_at=$i; break; fi
  done
  if [[ $sub != batch ]] && ((cmd_at > 0 && cmd_at <= COMP_CWORD)); then
    if declare -F _command_offset >/dev/null; then
      _command_offset "$cmd_at"
    elif ((cmd_at == COMP_CWORD)); then
      COMPREPLY=($(compgen -c -- "$cur"))
    else
      COMPREPLY=($(compgen -f -- "$cur"))
    fi
    return
  fi

  # A flag's value: "--opt=cur" (split by bash at "=") or "--opt cur".
  if [[ $cur == = ]]; then
    _procctx_values "$prev" ""
    return
  elif [[ $prev == = ]] && ((COMP_CWORD >= 3)); then
    _procctx_values "${COMP_WORDS[COMP_CWORD - 2]}" "$cur"
    return
  elif [[ " $flags_arg " == *" $prev "* ]]; then
    _procctx_values "$prev" "$cur"
    return
  fi

  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags_arg $flags_noarg" -- "$cur"))
  elif [[ $sub == timeout ]] && ((operands == 0)); then
    COMPREPLY=()  # the DURATION
  elif [[ $sub == batch ]]; then
    if ((COMP_CWORD == 2)); then
      COMPREPLY=($(compgen -W "merge" -- "$cur") $(compgen -f -- "$cur"))
    else
      COMPREPLY=($(compgen -f -- "$cur"))
    fi
  else
    COMPREPLY=($(compgen -c -- "$cur"))
  fi
}
complete -F _procctx procctx
